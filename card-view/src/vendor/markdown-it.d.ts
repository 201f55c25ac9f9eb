// Served at ./vendor/markdown-it.js by the card view router: markdown-it's own browser ES module
// (node_modules/markdown-it/dist/browser/markdown-it.esm.min.mjs). Its types are the package's.
export { default } from 'markdown-it';
