import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { privateKeyToAddress } from "viem/accounts";
import { decryptKeystore, encryptKeystore, keystoreAddress, KeystoreError, keystorePassphrase, parseKeystore, readKeystore, SCRYPT_PARAMS, unlockKeystore, writeKeystoreFile } from "./keystore.ts";

// The Web3 Secret Storage definition's own test vectors (also go-ethereum's
// accounts/keystore/testdata/v3_test_vector.json): password "testpassword", the same private key
// under pbkdf2 and under scrypt. Decrypting them proves we read what geth and ethers write.
const SPEC_KEY = "0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d";
const SPEC_SCRYPT = {
  crypto: {
    cipher: "aes-128-ctr",
    cipherparams: { iv: "83dbcc02d8ccb40e466191a123791e0e" },
    ciphertext: "d172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c",
    kdf: "scrypt",
    kdfparams: { dklen: 32, n: 262144, r: 1, p: 8, salt: "ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19" },
    mac: "2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097",
  },
  id: "3198bc9c-6672-5ab3-d995-4942343ae5b6",
  version: 3,
};
const SPEC_PBKDF2 = {
  crypto: {
    cipher: "aes-128-ctr",
    cipherparams: { iv: "6087dab2f9fdbbfaddc31a909735c1e6" },
    ciphertext: "5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46",
    kdf: "pbkdf2",
    kdfparams: { c: 262144, dklen: 32, prf: "hmac-sha256", salt: "ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd" },
    mac: "517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2",
  },
  id: "3198bc9c-6672-5ab3-d995-4942343ae5b6",
  version: 3,
};
const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

test("decrypts the specification's scrypt and pbkdf2 test vectors", async () => {
  assert.equal(await decryptKeystore(parseKeystore(SPEC_SCRYPT), "testpassword"), SPEC_KEY);
  assert.equal(await decryptKeystore(parseKeystore(SPEC_PBKDF2), "testpassword"), SPEC_KEY);
  // The vector's key is the one whose address the spec's sample file states.
  assert.equal(privateKeyToAddress(SPEC_KEY).toLowerCase(), "0x008aeeda4d805471df9b2a5b0f38a0c3bcba786b");
});

test("a wrong passphrase is a typed error that carries neither passphrase nor key", async () => {
  const secret = "correct horse battery staple";
  await assert.rejects(decryptKeystore(parseKeystore(SPEC_PBKDF2), secret), (e: unknown) => {
    assert.ok(e instanceof KeystoreError);
    assert.equal(e.reason, "wrong-passphrase");
    const text = `${e.message}\n${e.shortMessage}\n${e.details ?? ""}\n${String(e.stack)}`;
    assert.ok(!text.includes(secret) && !text.includes("testpassword") && !text.includes(SPEC_KEY.slice(2)));
    return true;
  });
});

test("writes a standard v3 keystore (scrypt, aes-128-ctr, keccak MAC) that round-trips; light parameters are geth's", async () => {
  const ks = await encryptKeystore(KEY, "pw", { strength: "light" });
  assert.equal(ks.version, 3);
  assert.match(ks.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(ks.address, privateKeyToAddress(KEY).slice(2).toLowerCase());
  assert.deepEqual(Object.keys(ks.crypto).sort(), ["cipher", "cipherparams", "ciphertext", "kdf", "kdfparams", "mac"]);
  assert.equal(ks.crypto.cipher, "aes-128-ctr");
  assert.equal(ks.crypto.kdf, "scrypt");
  assert.deepEqual({ ...ks.crypto.kdfparams, salt: undefined }, { dklen: 32, n: 4096, r: 8, p: 6, salt: undefined });
  assert.match(ks.crypto.kdfparams.salt, /^[0-9a-f]{64}$/);
  assert.match(ks.crypto.cipherparams.iv, /^[0-9a-f]{32}$/);
  assert.match(ks.crypto.ciphertext, /^[0-9a-f]{64}$/);
  assert.match(ks.crypto.mac, /^[0-9a-f]{64}$/);
  assert.equal(await decryptKeystore(parseKeystore(JSON.parse(JSON.stringify(ks))), "pw"), KEY);
  assert.equal(keystoreAddress(ks)?.toLowerCase(), privateKeyToAddress(KEY).toLowerCase());
  // Fresh salt and IV every time.
  const again = await encryptKeystore(KEY, "pw", { strength: "light" });
  assert.notEqual(again.crypto.ciphertext, ks.crypto.ciphertext);
  assert.deepEqual(SCRYPT_PARAMS.standard, { n: 262144, r: 8, p: 1 });
});

test("the standard strength (n = 2^18, r = 8: 256 MiB) encrypts and decrypts", async () => {
  const ks = await encryptKeystore(KEY, "pw");
  assert.equal((ks.crypto.kdfparams as { n: number }).n, 262144);
  assert.equal(await decryptKeystore(ks, "pw"), KEY);
});

test("malformed and unsupported keystores name the field", () => {
  assert.throws(() => parseKeystore({ ...SPEC_SCRYPT, version: 1 }), (e: KeystoreError) => e.reason === "unsupported" && /version/.test(e.shortMessage));
  assert.throws(() => parseKeystore({ ...SPEC_SCRYPT, crypto: { ...SPEC_SCRYPT.crypto, cipher: "aes-128-cbc" } }), (e: KeystoreError) => e.reason === "unsupported" && /crypto\.cipher/.test(e.shortMessage));
  assert.throws(() => parseKeystore({ ...SPEC_SCRYPT, crypto: { ...SPEC_SCRYPT.crypto, mac: "00" } }), (e: KeystoreError) => e.reason === "malformed" && /crypto\.mac/.test(e.shortMessage));
  // geth's capitalised "Crypto" is read too.
  const { crypto, ...rest } = SPEC_SCRYPT;
  assert.equal(parseKeystore({ ...rest, Crypto: crypto }).crypto.kdf, "scrypt");
});

test("files: written 0600, never over an existing key; passphrase from file, env or prompt", async () => {
  const dir = await mkdtemp(join(tmpdir(), "bandmint-ks-"));
  try {
    const path = join(dir, "key.json");
    const ks = await encryptKeystore(KEY, "from file", { strength: "light" });
    await writeKeystoreFile(path, ks);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(await readFile(path, "utf8")), ks);
    await assert.rejects(writeKeystoreFile(path, ks), (e: KeystoreError) => e.reason === "exists");
    assert.deepEqual(await readKeystore(path), parseKeystore(ks));

    const pwFile = join(dir, "pw");
    await writeFile(pwFile, "from file\nignored second line\n");
    assert.equal(await unlockKeystore(path, { passphraseFile: pwFile, env: { BANDMINT_PASSPHRASE: "wrong" } }), KEY);
    assert.equal(await keystorePassphrase(path, { env: { BANDMINT_PASSPHRASE: "env" }, prompt: async () => "prompt" }), "env");
    let asked = "";
    assert.equal(await keystorePassphrase(path, { env: {}, prompt: async (q) => ((asked = q), "typed") }), "typed");
    assert.match(asked, /key\.json/);
    await assert.rejects(keystorePassphrase(path, { env: {} }), /no passphrase given/);
    await assert.rejects(readKeystore(join(dir, "missing.json")), (e: KeystoreError) => e.reason === "unreadable");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
