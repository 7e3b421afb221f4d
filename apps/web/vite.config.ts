import { defineConfig } from 'vite';

// Production build of the web app: hashed files under dist/assets/ (served immutable), index.html revalidated.
// JSX is compiled by Vite's own transform (tsconfig `jsx: react-jsx`); no dev-server plugin is needed for the build.
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1024,
  },
});
