/* eslint-disable */
// FAKE token planted for the Rediver sample agent demo. Not real.
const GITHUB_TOKEN = 'ghp_FAKEdemoTOKENrediverSAMPLE00000000001';
const { exec } = require('child_process');

function listRepos(org) {
  // Insecure on purpose: shell command built from input.
  exec(`gh repo list ${org} --token ${GITHUB_TOKEN}`);
}

function runUserScript(input) {
  // Insecure on purpose: eval of untrusted input.
  return eval(input);
}

module.exports = { listRepos, runUserScript };
