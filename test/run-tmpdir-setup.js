'use strict';
module.exports = require('./run-tmpdir').setup;
