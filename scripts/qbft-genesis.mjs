#!/usr/bin/env node
// Generates the consortium test network of docker/compose.yaml: one secp256k1 node key per QBFT validator
// and a Besu QBFT genesis whose extraData names those validators. Free gas (base fee 0), so agency accounts
// need no funding, as with the embedded node. Keys are written only to the output directory (git-ignored,
// mode 0600) and never printed; an existing network is never overwritten.
//
// Usage: node scripts/qbft-genesis.mjs [--out docker/network] [--validators 4] [--chain-id 7777]
//                                      [--block-period 2] [--subnet 172.28.0]
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Wallet, encodeRlp, hexlify, zeroPadValue } from 'ethers';

/** Besu's fixed QBFT/IBFT 2.0 mixHash ("…tical byzantine fault tolerance"). */
export const QBFT_MIX_HASH = '0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365';

/**
 * QBFT genesis extraData: RLP([32-byte vanity, [validator addresses], vote, round, [seals]]) where the
 * genesis block has no vote (empty list), round 0 (the empty byte string) and no seals (empty list).
 * Validators are sorted by address, the order Besu uses for proposer rotation.
 */
export function qbftExtraData(addresses) {
  const validators = [...addresses].map((address) => address.toLowerCase()).sort();
  return encodeRlp([zeroPadValue('0x', 32), validators, [], '0x', []]);
}

/** A Besu genesis for QBFT with zero base fee and every EVM fork our contracts need (cancun) from block 0. */
export function qbftGenesis({ chainId, addresses, blockPeriodSeconds = 2 }) {
  return {
    config: {
      chainId,
      homesteadBlock: 0,
      eip150Block: 0,
      eip155Block: 0,
      eip158Block: 0,
      byzantiumBlock: 0,
      constantinopleBlock: 0,
      petersburgBlock: 0,
      istanbulBlock: 0,
      muirGlacierBlock: 0,
      berlinBlock: 0,
      londonBlock: 0,
      // contracts/ is compiled for cancun (PUSH0, MCOPY): both forks from the genesis timestamp on.
      shanghaiTime: 0,
      cancunTime: 0,
      zeroBaseFee: true,
      contractSizeLimit: 2147483647,
      qbft: { blockperiodseconds: blockPeriodSeconds, epochlength: 30000, requesttimeoutseconds: 4 * blockPeriodSeconds },
    },
    nonce: '0x0',
    timestamp: '0x0',
    gasLimit: '0x1fffffffffffff',
    difficulty: '0x1',
    baseFeePerGas: '0x0',
    mixHash: QBFT_MIX_HASH,
    coinbase: '0x0000000000000000000000000000000000000000',
    alloc: {},
    extraData: qbftExtraData(addresses),
  };
}

/** Writes validator keys, genesis.json and static-nodes.json into `out`; returns the validators' addresses. */
export function generateNetwork({ out, validators = 4, chainId = 7777, blockPeriodSeconds = 2, subnet = '172.28.0' }) {
  if (!Number.isInteger(validators) || validators < 1 || validators > 30) throw new Error('--validators must be 1..30');
  if (!Number.isInteger(chainId) || chainId < 1) throw new Error('--chain-id must be a positive integer');
  if (!Number.isInteger(blockPeriodSeconds) || blockPeriodSeconds < 1) throw new Error('--block-period must be ≥ 1');
  if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(subnet)) throw new Error('--subnet must be the first three octets, e.g. 172.28.0');
  if (existsSync(join(out, 'genesis.json'))) {
    throw new Error(`${join(out, 'genesis.json')} exists: remove ${out} to create a new network (its chain and keys are lost)`);
  }
  mkdirSync(out, { recursive: true, mode: 0o700 });
  const nodes = [];
  for (let i = 1; i <= validators; i++) {
    const wallet = new Wallet(hexlify(randomBytes(32)));
    const dir = join(out, `validator-${i}`);
    mkdirSync(join(dir, 'data'), { recursive: true, mode: 0o700 });
    // Besu reads the node key as 0x-prefixed hex; the public key (enode id) is the uncompressed point without 04.
    writeFileSync(join(dir, 'key'), wallet.privateKey, { mode: 0o600 });
    const publicKey = wallet.signingKey.publicKey.slice(4);
    writeFileSync(join(dir, 'key.pub'), `0x${publicKey}\n`);
    writeFileSync(join(dir, 'address'), `${wallet.address}\n`);
    nodes.push({ address: wallet.address, enode: `enode://${publicKey}@${subnet}.${10 + i}:30303` });
  }
  const addresses = nodes.map((node) => node.address);
  const genesis = qbftGenesis({ chainId, addresses, blockPeriodSeconds });
  writeFileSync(join(out, 'genesis.json'), JSON.stringify(genesis, null, 2) + '\n');
  writeFileSync(
    join(out, 'static-nodes.json'),
    JSON.stringify(
      nodes.map((node) => node.enode),
      null,
      2,
    ) + '\n',
  );
  return addresses;
}

const invokedDirectly = process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname);
if (invokedDirectly) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'docker/network' },
      validators: { type: 'string', default: '4' },
      'chain-id': { type: 'string', default: process.env.CHAIN_ID || '7777' },
      'block-period': { type: 'string', default: '2' },
      subnet: { type: 'string', default: '172.28.0' },
    },
  });
  try {
    const out = resolve(values.out);
    const addresses = generateNetwork({
      out,
      validators: Number(values.validators),
      chainId: Number(values['chain-id']),
      blockPeriodSeconds: Number(values['block-period']),
      subnet: values.subnet,
    });
    console.log(`QBFT network for chain ${values['chain-id']} in ${out}; validators:\n  ${addresses.join('\n  ')}`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
