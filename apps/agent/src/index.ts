/**
 * @rediver/agent — the sample agent composing the Rediver agent SDK's packages. The CLI (`rediver-agent`)
 * is the main entry; these exports let tests and integrators reuse its parts.
 */
export { VERSION } from './version';
