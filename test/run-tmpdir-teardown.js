'use strict';
module.exports = require('./run-tmpdir').teardown;
