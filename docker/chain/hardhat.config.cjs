// Hardhat 2 network for the embedded development chain and for tests. Gas is free (base fee 0), as on
// permissioned consortium chains (Besu/Quorum), so agency accounts need no funding.
const os = require('node:os');
const path = require('node:path');

const scratch = process.env.HARDHAT_SCRATCH_DIR || path.join(os.tmpdir(), 'chancery-hardhat');

module.exports = {
  paths: {
    cache: path.join(scratch, 'cache'),
    artifacts: path.join(scratch, 'artifacts'),
    sources: path.join(scratch, 'contracts'),
  },
  networks: {
    hardhat: {
      chainId: Number(process.env.CHAIN_ID || 7777),
      initialBaseFeePerGas: 0,
      gasPrice: 0,
      accounts: { count: 1 },
      mining: { auto: true },
      // Set by the service when it rebuilds a fresh embedded node from its journal (ADR 15): the chain must
      // start before the first journaled block, so that every transaction is mined at its original time.
      ...(process.env.CHAIN_INITIAL_DATE ? { initialDate: process.env.CHAIN_INITIAL_DATE } : {}),
      loggingEnabled: false,
    },
  },
};
