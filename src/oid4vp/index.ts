export { analyseDcqlQuery, claimsBeyondRegistration, DcqlProblem, type RequestedCredential } from './dcql.js';
