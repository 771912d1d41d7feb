// Preloaded (node --require) by the CLI test of a missing optional package: require() of a package
// named in WALSTREAM_HIDE_PACKAGES (comma-separated) fails as it does when it is not installed.
const Module = require('node:module');

const hidden = new Set((process.env.WALSTREAM_HIDE_PACKAGES || '').split(',').filter(Boolean));
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (hidden.has(request)) {
    const err = new Error(`Cannot find module '${request}'`);
    err.code = 'MODULE_NOT_FOUND';
    throw err;
  }
  return resolveFilename.call(this, request, ...rest);
};
