export { analyseDcqlQuery, claimsBeyondRegistration, DcqlProblem, type RequestedCredential } from './dcql.js';
export { vpTokenProblems, presenceProblems, claimValueProblems, dcqlMatchProblems, type VpTokenLimits } from './dcql-response.js';
