// Mutation testing of the settlement contracts: `node scripts/mutation.ts` (suggested npm script:
// test:mutation; not part of `npm test`, a full run takes tens of minutes on 2 cores).
//
// Each mutant replaces one exact piece of source text (a check, a bound, a write) and runs the
// Solidity tests that should notice. A mutant the tests still pass on either is equivalent (the
// `equivalent` field says why) or is a hole in the tests. The repository is copied to a temp dir
// first, so the working tree, and everyone building it, never sees a mutant.
//
// Options:
//   --only ID[,ID...]   run these mutants only         --list       print the mutants and exit
//   --root DIR          tree to copy (default: this repository)
//   --keep              keep the temp copy              --json FILE  write the results as JSON
//   --drop FILE[,FILE]  delete these files from the copy (e.g. the score without some tests)
// FUZZ_RUNS, INVARIANT_RUNS and INVARIANT_DEPTH pass through to hardhat as usual.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** One source change and the tests that must fail on it. */
export type Mutant = {
  id: string;
  file: string;
  /** Exact text to replace; must occur once in the file, or `nth` picks the occurrence (1-based). */
  from: string;
  to: string;
  nth?: number;
  /** Solidity test files (paths from the root); files missing from the tree are skipped. */
  tests: readonly string[];
  what: string;
  /** Set when the mutant cannot change observable behaviour: why. Excluded from the score. */
  equivalent?: string;
};

/** What happened to one mutant. */
export type MutantResult = {
  id: string;
  line: number;
  what: string;
  status: "killed" | "survived" | "equivalent" | "stillborn" | "stale";
  killedBy: string;
  /** Every failing test, as Contract#test (tells which test files kill a mutant). */
  failing: string[];
  seconds: number;
};

const BROKER = "contracts/TicketBroker.sol";
const LIB = "contracts/libraries/TicketLib.sol";
const COMPACT = "contracts/libraries/CompactBatchLib.sol";
const REGISTRY = "contracts/ProviderRegistry.sol";
const TOKEN = "contracts/BandToken.sol";

const BROKER_TESTS = [
  "contracts/test/TicketBroker.t.sol",
  "contracts/test/TicketBrokerFuzz.t.sol",
  "contracts/test/TicketBrokerInvariant.t.sol",
  "contracts/test/TicketVectors.t.sol",
  "contracts/test/TicketBrokerMutants.t.sol",
  "contracts/test/TicketBrokerCompact.t.sol",
];
const REGISTRY_TESTS = [
  "contracts/test/ProviderRegistry.t.sol",
  "contracts/test/ProviderRegistryInvariant.t.sol",
  "contracts/test/RegistryMutants.t.sol",
];
const TOKEN_TESTS = ["contracts/test/BandToken.t.sol", "contracts/test/BandTokenInvariant.t.sol"];

const b = (id: string, what: string, from: string, to: string, extra: Partial<Mutant> = {}): Mutant => ({
  id, what, file: BROKER, from, to, tests: BROKER_TESTS, ...extra,
});
const r = (id: string, what: string, from: string, to: string, extra: Partial<Mutant> = {}): Mutant => ({
  id, what, file: REGISTRY, from, to, tests: REGISTRY_TESTS, ...extra,
});
const l = (id: string, what: string, from: string, to: string, extra: Partial<Mutant> = {}): Mutant => ({
  id, what, file: LIB, from, to, tests: BROKER_TESTS, ...extra,
});
const c = (id: string, what: string, from: string, to: string, extra: Partial<Mutant> = {}): Mutant => ({
  id, what, file: COMPACT, from, to, tests: BROKER_TESTS, ...extra,
});
const t = (id: string, what: string, from: string, to: string, extra: Partial<Mutant> = {}): Mutant => ({
  id, what, file: TOKEN, from, to, tests: TOKEN_TESTS, ...extra,
});

/** The mutants: the checks that guard money and safety in the broker, the registry and the token. */
export const MUTANTS: readonly Mutant[] = [
  // ---- redeem: ticket checks
  b("B01", "redeem: recipient check removed", "if (t.recipient != msg.sender) revert", "if (false) revert"),
  b("B02", "redeem: recipientRand hash check removed",
    "if (TicketLib.recipientRandHash(recipientRand) != t.recipientRandHash) {", "if (false) {"),
  b("B03", "verify: expiry `>` -> `>=` (rejects at the expiry second)",
    "if (block.timestamp > expiry)", "if (block.timestamp >= expiry)"),
  b("B04", "verify: expiry check removed", "if (block.timestamp > expiry)", "if (false)"),
  b("B05", "redeem: signature length 65 check removed", "if (sig.length != 65)", "if (false)"),
  b("B06", "verify: win check removed", "if (!wins) revert TicketNotWinning", "if (false) revert TicketNotWinning"),
  b("B07", "verify: unrecoverable signature (signer 0) not refused as such",
    "if (signer == address(0)) revert InvalidSignature", "if (false) revert InvalidSignature"),
  b("B08", "verify: signer == sender check removed", "if (signer != sender) revert", "if (false) revert"),
  b("B16", "redeem: full ticket not loaded into the buffer", "TicketLib.loadTicket(b, t, sig, recipientRand);", ""),
  b("B09", "redeem: nonce `<=` -> `<` (replay of the watermark nonce)",
    "if (nonce <= cursor.lastNonce)", "if (nonce < cursor.lastNonce)"),
  b("B10", "redeem: watermark advance removed", "cursor.lastNonce = nonce;", ""),
  b("B11", "storeCursor: watermark write removed", "_lastNonce[sender][msg.sender] = cursor.lastNonce;", ""),
  b("B12", "redeemTickets: empty batch accepted", "if (n == 0) revert EmptyBatch();", ""),
  b("B13", "redeemTickets: recipientRands length unchecked",
    "if (sigs.length != n || recipientRands.length != n)", "if (sigs.length != n)"),
  b("B15", "redeemTickets: sigs length unchecked",
    "if (sigs.length != n || recipientRands.length != n)", "if (recipientRands.length != n)"),
  b("B14", "redeem: cursor reloaded for every ticket", "if (sender != cursor.sender) {", "if (true) {", {
    equivalent: "the cursor is stored before it is reloaded, so reloading reads back the same values (gas only)",
  }),
  // ---- TicketLib
  l("L01", "isWinning: `<` -> `<=`", "return draw < winProb;", "return draw <= winProb;"),
  l("L02", "isWinning: draw ignores recipientRand", "draw := keccak256(m, add(sig.length, 0x20))",
    "draw := keccak256(m, sig.length)"),
  l("L03", "hashStruct: dirty high bits accepted", "if dirty { revert(0, 0) }", ""),
  l("L04", "winAndSigner: high-s (malleable twin) accepted", "if iszero(gt(s, _HALF_N)) {", "if 1 {"),
  l("L05", "winAndSigner: `<` -> `<=` (the draw equal to winProb wins)",
    "wins := lt(keccak256(add(b, _R_AT), 0x61), mload(add(b, _WIN_PROB_AT)))",
    "wins := iszero(gt(keccak256(add(b, _R_AT), 0x61), mload(add(b, _WIN_PROB_AT))))"),
  l("L06", "winAndSigner: draw ignores recipientRand", "keccak256(add(b, _R_AT), 0x61)", "keccak256(add(b, _R_AT), 0x41)"),
  l("L07", "winAndSigner: draw ignores v", "keccak256(add(b, _R_AT), 0x61)",
    "xor(keccak256(add(b, _R_AT), 0x40), keccak256(add(b, 0x1e1), 0x20))"),
  l("L08", "winAndSigner: output word not zeroed (a failed recovery reads stale memory)", "mstore(0x00, 0)", ""),
  l("L09", "winAndSigner: v not passed (always 27)", "mstore(add(m, 0x20), byte(0, mload(add(b, _V_AT))))",
    "mstore(add(m, 0x20), 27)"),
  l("L10", "winAndSigner: digest without the domain separator",
    "let digest := keccak256(add(b, _DIGEST_INPUT_AT), 0x42)", "let digest := mload(add(b, _STRUCT_HASH_AT))"),
  l("L11", "loadTicket: v byte not copied", "calldatacopy(add(b, _R_AT), sig.offset, 65)",
    "calldatacopy(add(b, _R_AT), sig.offset, 64)"),
  l("L12", "loadTicket: recipientRand not copied (draw over a stale rand)", "mstore(add(b, _RAND_AT), recipientRand)", ""),
  // ---- compact batches: the reader and the group loop
  c("C01", "readGroup: header bounds check removed", "if (ticketsAt > length) revert ITicketBroker.MalformedBatch(offset, length);", "", {
    equivalent: "count >= 1 is required, so a header that runs past the end makes its group run past it too and the check after it reverts with the same MalformedBatch(offset, length); this check only keeps the header reads inside the batch",
  }),
  c("C02", "readGroup: empty group accepted", "if (count == 0 || groupEnd > length)", "if (groupEnd > length)"),
  c("C03", "readGroup: group end unchecked (tickets read past the end)", "if (count == 0 || groupEnd > length)", "if (count == 0)"),
  c("C04", "readGroup: group one ticket short", "groupEnd = ticketsAt + count * TICKET_SIZE;",
    "groupEnd = ticketsAt + (count - 1) * TICKET_SIZE;"),
  c("C05", "readGroup: recipientRandHash not derived from recipientRand", "b[6] = TicketLib.recipientRandHash(recipientRand);",
    "b[6] = bytes32(recipientRand);"),
  c("C06", "readGroup: recipientRand not in the draw", "mstore(add(b, 0x1e1), recipientRand)", "mstore(add(b, 0x1e1), 0)"),
  c("C07", "readGroup: sessionId not read", "mstore(add(b, 0x100), calldataload(add(p, 117)))", "mstore(add(b, 0x100), 0)"),
  c("C08", "readTicket: parity bit ignored", "mstore8(add(b, 0x1e0), add(27, shr(255, vs)))", "mstore8(add(b, 0x1e0), 27)"),
  c("C09", "readTicket: parity bit left in s", "mstore(add(b, 0x1c0), and(vs, _S_MASK))", "mstore(add(b, 0x1c0), vs)"),
  c("C10", "readTicket: nonce read at the wrong place", "mstore(add(b, 0xa0), shr(192, w))", "mstore(add(b, 0xa0), shr(200, w))"),
  c("C11", "readTicket: expiry not masked", "mstore(add(b, 0xe0), and(shr(128, w), _U64_MASK))", "mstore(add(b, 0xe0), shr(128, w))"),
  c("C12", "readTicket: cumulativeBytes not masked", "mstore(add(b, 0x120), and(shr(64, w), _U64_MASK))",
    "mstore(add(b, 0x120), shr(64, w))"),
  b("B17", "redeemTicketsCompact: empty batch accepted", "if (length == 0) revert EmptyBatch();", ""),
  b("B18", "redeemTicketsCompact: recipient is not the caller",
    "b[1] = bytes32(uint256(uint160(msg.sender)));", "b[1] = bytes32(uint256(uint160(tx.origin)));"),
  b("B19", "redeemGroup: cursor not switched to the group's sender",
    "_switchTo(cursor, address(uint160(uint256(b[2]))));", ""),
  b("B38", "redeemGroup: a partly paid ticket tallied as paid in full", "if (paid == uint256(faceValue)) {", "if (true) {"),
  b("B39", "redeemGroup: event's lastPaid is the face value", "mstore(add(data, 0x20), paid) // lastPaid",
    "mstore(add(data, 0x20), faceValue) // lastPaid"),
  b("B56", "redeemGroup: event lists one hash over and over", "entry += 0x20;", ""),
  b("B57", "redeemGroup: event carries the header only", "log2(data, add(0x80, shl(5, count)), topic, sender)",
    "log2(data, 0x80, topic, sender)"),
  b("B58", "tallyFull: shares rounded per group, not per ticket", "totals.burned += n * (faceValue * _burnBps / _BPS);",
    "totals.burned += n * faceValue * _burnBps / _BPS;"),
  b("B59", "tallyFull: treasury share rounded per group", "totals.treasury += n * (faceValue * _treasuryBps / _BPS);",
    "totals.treasury += n * faceValue * _treasuryBps / _BPS;"),
  b("B73", "tallyFull: paid not added", "totals.paid += n * faceValue;", ""),
  b("B74", "tallyFull: n == 0 shortcut removed", "if (n == 0) return;", "", {
    equivalent: "with n == 0 every product below is multiplied by 0 (a wrapped faceValue * bps included), so nothing is added either way",
  }),
  // ---- deposit / reserve accounting in redeem
  b("B20", "redeem: deposit -= faceValue removed", "cursor.deposit = deposit - faceValue;", "cursor.deposit = deposit;"),
  b("B21", "redeem: deposit `>=` -> `>` (exact deposit goes the reserve path)",
    "if (deposit >= faceValue) {", "if (deposit > faceValue) {"),
  b("B22", "redeem: short deposit not zeroed", "cursor.deposit = 0;", ""),
  b("B23", "redeem: zero payment accepted", "if (paid == 0) revert SenderFundsExhausted", "if (false) revert SenderFundsExhausted"),
  b("B24", "drawReserve: reserve -= drawn removed", "cursor.reserve = reserve - drawn;", "cursor.reserve = reserve;"),
  b("B25", "drawReserve: allowance R/N -> R", "allowance = reserve / providers;", "allowance = reserve;"),
  b("B26", "providerCount: 0 providers counts as 2", "return n == 0 ? 1 : n;", "return n == 0 ? 2 : n;"),
  b("B27", "providerCount: N+1 instead of N", "return n == 0 ? 1 : n;", "return n + 1;"),
  b("B28", "eligible: `since < freeze` -> `<=`", "return since != 0 && since < freezeTime;",
    "return since != 0 && since <= freezeTime;"),
  b("B29", "eligible: inactive (since == 0) recipients eligible", "return since != 0 && since < freezeTime;",
    "return since < freezeTime;"),
  b("B30", "drawReserve: per-claimant cap ignores what was claimed", "drawn = allowance - claimed;", "drawn = allowance;"),
  b("B31", "drawReserve: draw not capped at what is needed", "if (drawn > needed) drawn = needed;", ""),
  b("B32", "drawReserve: draw not capped at the reserve", "if (drawn > reserve) drawn = reserve;", ""),
  b("B33", "drawReserve: claim overwritten, not accumulated", "c.claimed = (claimed + drawn).toUint128();",
    "c.claimed = drawn.toUint128();"),
  b("B34", "drawReserve: claim's freeze not recorded", "c.freezeTime = freezeTime;\n        c.claimed", "c.claimed"),
  b("B35", "drawReserve: freeze time not persisted", "s.freezeTime = freezeTime;", ""),
  b("B36", "drawReserve: allowance not persisted", "s.allowancePerRecipient = allowance.toUint128();", ""),
  b("B37", "claim read: stale claims of an older freeze count",
    "uint256 claimed = c.freezeTime == freezeTime ? c.claimed : 0;", "uint256 claimed = c.claimed;"),
  // ---- payout split and ledger
  b("B40", "redeemTicket: burn share rounds up", "_settle(paid, paid * _burnBps / _BPS,",
    "_settle(paid, (paid * _burnBps + _BPS - 1) / _BPS,"),
  b("B41", "redeemTicket: treasury share rounds up", "paid * _treasuryBps / _BPS);",
    "(paid * _treasuryBps + _BPS - 1) / _BPS);"),
  b("B42", "tally: burn share rounds up", "totals.burned += paid * _burnBps / _BPS;",
    "totals.burned += (paid * _burnBps + _BPS - 1) / _BPS;"),
  b("B43", "tally: treasury share rounds up", "totals.treasury += paid * _treasuryBps / _BPS;",
    "totals.treasury += (paid * _treasuryBps + _BPS - 1) / _BPS;"),
  b("B44", "tally: split rounded per batch, not per ticket", "totals.burned += paid * _burnBps / _BPS;",
    "totals.burned = (totals.paid * _burnBps) / _BPS;"),
  b("B45", "tally: treasury share uses burnBps", "totals.treasury += paid * _treasuryBps / _BPS;",
    "totals.treasury += paid * _burnBps / _BPS;"),
  b("B46", "settle: recipient also gets the treasury share", "toRecipient = paid - burned - toTreasury;",
    "toRecipient = paid - burned;"),
  b("B47", "settle: recipient's epoch account overwritten", "_epochAccounts[epoch][msg.sender] += paid | (burned << 128);",
    "_epochAccounts[epoch][msg.sender] = paid | (burned << 128);"),
  b("B53", "settle: recipient's burned not booked", "_epochAccounts[epoch][msg.sender] += paid | (burned << 128);",
    "_epochAccounts[epoch][msg.sender] += paid;"),
  b("B54", "paidInEpoch: returns the packed word", "return uint128(_epochAccounts[epoch][recipient]);",
    "return _epochAccounts[epoch][recipient];"),
  b("B48", "settle: epoch total paid overwritten", "EpochTotals((uint256(e.paid) + paid).toUint128()",
    "EpochTotals((paid).toUint128()"),
  b("B49", "settle: epoch total burned overwritten", "(uint256(e.burned) + burned).toUint128()", "(burned).toUint128()"),
  b("B50", "settle: treasury accrual overwritten", "_treasuryAccrued += toTreasury;", "_treasuryAccrued = toTreasury;"),
  b("B51", "flushTreasury: accrual not cleared", "_treasuryAccrued = 0;", ""),
  b("B55", "withdraw: allowed in the block the reserve froze", "if (freezeTime == block.timestamp) revert ReserveFrozenThisBlock(msg.sender, freezeTime);", ""),
  b("B52", "currentEpoch: genesis offset dropped", "return (block.timestamp - _genesisTime) / _epochLength;",
    "return block.timestamp / _epochLength;"),
  // ---- funding, unlock, withdraw
  b("B60", "fund: deposit overwritten, not added", "uint256 deposit = s.deposit + depositAmount;",
    "uint256 deposit = depositAmount;"),
  b("B61", "fund: reserve overwritten, not added", "uint256 reserve = s.reserve + reserveAmount;",
    "uint256 reserve = reserveAmount;"),
  b("B62", "permit: allowance for the deposit only", "msg.sender, address(this), depositAmount + reserveAmount,",
    "msg.sender, address(this), depositAmount,"),
  b("B63", "unlock: no unlock period", "uint64 withdrawTime = uint64(block.timestamp) + _unlockPeriod;",
    "uint64 withdrawTime = uint64(block.timestamp);"),
  b("B64", "unlock: re-unlock allowed (restarts the clock)", "if (pending != 0) revert", "if (false) revert"),
  b("B65", "cancelUnlock: withdrawTime not cleared", "s.withdrawTime = 0;\n        emit UnlockCancelled",
    "emit UnlockCancelled"),
  b("B66", "cancelUnlock: NotUnlocking check removed",
    "if (s.withdrawTime == 0) revert NotUnlocking(msg.sender);\n        s.withdrawTime = 0;", "s.withdrawTime = 0;"),
  b("B67", "withdraw: `<` -> `<=` (rejects at the withdraw time)", "if (block.timestamp < withdrawTime)",
    "if (block.timestamp <= withdrawTime)"),
  b("B68", "withdraw: unlock period not enforced", "if (block.timestamp < withdrawTime)", "if (false)"),
  b("B69", "withdraw: NotUnlocking check removed", "if (withdrawTime == 0) revert NotUnlocking(msg.sender);\n        if (block",
    "if (block"),
  b("B70", "withdraw: balances not cleared", "delete _balances[msg.sender];", ""),
  b("B71", "withdraw: unlock and freeze not cleared", "delete _senders[msg.sender];", ""),
  b("B72", "constructor: fee shares may sum past 100%", "if (uint256(burnBps_) + treasuryBps_ > _BPS)",
    "if (uint256(burnBps_) + treasuryBps_ > _BPS + 1)"),
  // ---- views the node and the CLI rely on
  b("B80", "claimableReserve: ignores what was claimed", "uint256 left = allowance - reserveClaimed(sender, recipient);",
    "uint256 left = allowance;"),
  b("B81", "claimableReserve: ignores eligibility", "if (!_eligible(recipient, freezeTime)) return 0;\n        uint256 left",
    "uint256 left"),
  b("B82", "claimableReserve: not capped at the reserve", "return left < reserve ? left : reserve;", "return left;"),
  b("B83", "reserveClaimed: stale claims of an older freeze count",
    "return freezeTime != 0 && c.freezeTime == freezeTime ? c.claimed : 0;", "return c.claimed;"),
  // ---- registry
  r("R01", "register: min stake `<` -> `<=`", "if (stake < _minStake)", "if (stake <= _minStake)"),
  r("R02", "register: min stake check removed", "if (stake < _minStake) revert", "if (false) revert"),
  r("R03", "register: allowed while unstaking (overwrites the stake)",
    "if (p.activeSince != 0 || p.unstakeTime != 0)", "if (p.activeSince != 0)"),
  r("R04", "requestUnstake: no unstake delay", "uint64 unlockTime = uint64(block.timestamp) + _unstakeDelay;",
    "uint64 unlockTime = uint64(block.timestamp);"),
  r("R05", "requestUnstake: activeSince not cleared", "p.activeSince = 0;", ""),
  r("R06", "withdrawStake: `<` -> `<=`", "if (block.timestamp < unlockTime)", "if (block.timestamp <= unlockTime)"),
  r("R07", "withdrawStake: NotUnstaking check removed", "if (unlockTime == 0) revert NotUnstaking(msg.sender);", ""),
  r("R08", "swap-and-pop: moved provider's index not updated", "_activeIndexPlusOne[moved] = indexPlusOne;", ""),
  r("R09", "swap-and-pop: slot not overwritten", "_active[indexPlusOne - 1] = moved;", ""),
  r("R10", "swap-and-pop: always swaps", "if (indexPlusOne - 1 != lastIndex) {", "if (true) {", {
    equivalent: "when the leaver is last it is swapped onto itself, then popped and its index deleted",
  }),
  r("R11", "swap-and-pop: leaver's index not deleted", "delete _activeIndexPlusOne[provider];", "", {
    equivalent: "the index is private, read only for active providers, and register rewrites it before use",
  }),
  r("R12", "offer: empty endpoint accepted", "if (endpointLength == 0 || endpointLength > MAX_ENDPOINT_LENGTH)",
    "if (endpointLength > MAX_ENDPOINT_LENGTH)"),
  r("R13", "offer: endpoint bound `>` -> `>=`", "endpointLength > MAX_ENDPOINT_LENGTH)", "endpointLength >= MAX_ENDPOINT_LENGTH)"),
  r("R14", "offer: region bound `>` -> `>=`", "if (regionLength > MAX_REGION_LENGTH)", "if (regionLength >= MAX_REGION_LENGTH)"),
  r("R15", "offer: zero price accepted", "if (offer.pricePerGiB == 0) revert", "if (false) revert"),
  r("R16", "offer: zero services accepted", "if (offer.services == 0 || offer.services", "if (offer.services"),
  r("R17", "offer: unknown service bits accepted", " || offer.services & ~SERVICES_MASK != 0)", ")"),
  r("R18", "updateOffer: offer not validated", "_activeProvider(msg.sender);\n        _validate(offer);",
    "_activeProvider(msg.sender);"),
  r("R19", "addStake: stake overwritten, not added", "uint256 newStake = p.stake + amount;", "uint256 newStake = amount;"),
  r("R20", "addStake: zero amount accepted", "if (amount == 0) revert ZeroAmount();", ""),
  r("R21", "constructor: delay bound `>` -> `>=`", "if (unstakeDelay_ > MAX_UNSTAKE_DELAY)", "if (unstakeDelay_ >= MAX_UNSTAKE_DELAY)"),
  r("R22", "getOffers: limit ignored", "n = limit < remaining ? limit : remaining;", "n = remaining;"),
  // ---- token
  t("T01", "mint: no role check", "external onlyRole(MINTER_ROLE) {", "external {"),
  t("T02", "mint: admin role instead of minter", "external onlyRole(MINTER_ROLE) {", "external onlyRole(DEFAULT_ADMIN_ROLE) {"),
  t("T03", "cap bypassed (ERC20._update skips ERC20Capped)", "super._update(from, to, value);", "ERC20._update(from, to, value);"),
  t("T04", "constructor: admin gets MINTER_ROLE instead", "_grantRole(DEFAULT_ADMIN_ROLE, admin);", "_grantRole(MINTER_ROLE, admin);"),
  t("T05", "constructor: genesis length check removed",
    "if (genesisRecipients.length != genesisAmounts.length) {", "if (false) {"),
];

/** Replaces the chosen occurrence of `from` in `text`; returns the new text and the 1-based line. */
export function applyMutant(text: string, m: Pick<Mutant, "id" | "from" | "to" | "nth">): { text: string; line: number } {
  const positions: number[] = [];
  for (let i = text.indexOf(m.from); i !== -1; i = text.indexOf(m.from, i + 1)) positions.push(i);
  const nth = m.nth ?? 1;
  // A `from` that matches more than once without an explicit `nth` is ambiguous: refuse rather than
  // silently mutate the wrong line after someone edits the contract.
  if (positions.length === 0 || (m.nth === undefined && positions.length > 1) || nth > positions.length) {
    throw new Error(`${m.id}: "${m.from}" occurs ${positions.length} times`);
  }
  const at = positions[nth - 1]!;
  return { text: text.slice(0, at) + m.to + text.slice(at + m.from.length), line: text.slice(0, at).split("\n").length };
}

/** Names the first failing test in hardhat's Solidity test output (or says why nothing ran). */
export function firstFailure(output: string): string {
  const lines = output.split("\n");
  const failed = lines.find((l) => /^\s*(✘|\d+\))\s/.test(l));
  if (failed !== undefined) return failed.trim().replace(/^(✘|\d+\))\s*/, "");
  return lines.find((l) => /error|fail/i.test(l))?.trim().slice(0, 80) ?? "(non-zero exit)";
}

/** Every failing test in hardhat's summary of a Solidity test run, as Contract#test. */
export function failingTests(output: string): string[] {
  return [...output.matchAll(/^\s*\d+\) (\w+#\w+\(.*?\))\s*$/gm)].map((x) => x[1]!);
}

/** True when hardhat's output is a solc error rather than a failing test. */
export function isCompileError(output: string): boolean {
  return /^(Parser|Declaration|Type|Syntax|Compiler)Error( \(\d+\))?:/m.test(output) || /compilation failed/i.test(output);
}

function run(cwd: string, args: string[], timeoutMs: number) {
  // npx resolves the pinned hardhat and Node 24 in node_modules/.bin, not the system node.
  const res = spawnSync("npx", args, { cwd, encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 << 20, env: process.env });
  return { ok: res.status === 0, output: `${res.stdout ?? ""}${res.stderr ?? ""}`, timedOut: res.error !== undefined };
}

function copyTree(root: string): string {
  const dir = mkdtempSync(join(tmpdir(), "bandmint-mutation-"));
  const skip = new Set(["node_modules", "artifacts", "cache", ".git"].map((d) => join(root, d)));
  cpSync(root, dir, { recursive: true, filter: (src) => !skip.has(src) });
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  return dir;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      only: { type: "string" },
      list: { type: "boolean", default: false },
      root: { type: "string" },
      keep: { type: "boolean", default: false },
      json: { type: "string" },
      drop: { type: "string" },
    },
  });
  const only = values.only?.split(",").map((s) => s.trim());
  const mutants = MUTANTS.filter((m) => only === undefined || only.includes(m.id));
  if (values.list) {
    for (const m of mutants) console.log(`${m.id}  ${m.file}  ${m.what}${m.equivalent ? "  [equivalent]" : ""}`);
    return;
  }
  const root = resolve(values.root ?? join(dirname(fileURLToPath(import.meta.url)), ".."));
  const dir = copyTree(root);
  for (const f of values.drop?.split(",") ?? []) rmSync(join(dir, f.trim()), { force: true });
  console.log(`mutation: ${mutants.length} mutants, copy of ${root} in ${dir}`);
  const TIMEOUT = 15 * 60_000;
  try {
    const allTests = [...new Set(mutants.flatMap((m) => m.tests))].filter((f) => existsSync(join(dir, f)));
    const base = run(dir, ["hardhat", "build", "--quiet"], TIMEOUT);
    if (!base.ok) throw new Error(`the unmutated tree does not build:\n${base.output}`);
    const green = run(dir, ["hardhat", "test", "solidity", "--no-compile", ...allTests], TIMEOUT);
    if (!green.ok) throw new Error(`the tests fail on the unmutated tree: ${firstFailure(green.output)}`);

    const results: MutantResult[] = [];
    for (const m of mutants) {
      const path = join(dir, m.file);
      const original = readFileSync(path, "utf8");
      const started = Date.now();
      let result: MutantResult;
      try {
        const { text, line } = applyMutant(original, m);
        const base = { id: m.id, line, what: m.what };
        writeFileSync(path, text);
        const tests = m.tests.filter((f) => existsSync(join(dir, f)));
        // `test solidity` recompiles only the jobs the mutated file is in (after the full baseline
        // build; a partial `build FILES` would leave the invariant runner without the handlers'
        // artifacts: "No contracts to fuzz").
        const res = run(dir, ["hardhat", "test", "solidity", ...tests], TIMEOUT);
        if (!res.ok && isCompileError(res.output)) {
          result = { ...base, status: "stillborn", killedBy: "does not compile", failing: [], seconds: 0 };
        } else {
          const status = !res.ok ? "killed" : m.equivalent !== undefined ? "equivalent" : "survived";
          const killedBy = res.timedOut ? "(timeout)" : !res.ok ? firstFailure(res.output) : (m.equivalent ?? "");
          result = { ...base, status, killedBy, failing: failingTests(res.output), seconds: 0 };
        }
      } catch (err) {
        result = { id: m.id, line: 0, what: m.what, status: "stale", killedBy: (err as Error).message, failing: [], seconds: 0 };
      } finally {
        writeFileSync(path, original);
      }
      result.seconds = Math.round((Date.now() - started) / 1000);
      results.push(result);
      console.log(`${result.id.padEnd(4)} ${result.status.padEnd(10)} ${`${m.file.replace(/^contracts\//, "")}:${result.line}`.padEnd(32)} ${result.what}${result.status === "killed" ? `  <- ${result.killedBy}` : ""}`);
    }
    report(results);
    if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(results, null, 2)}\n`);
  } finally {
    if (values.keep) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

function report(results: readonly MutantResult[]): void {
  const count = (s: MutantResult["status"]) => results.filter((x) => x.status === s).length;
  const killed = count("killed");
  const survived = count("survived");
  console.log("\n| id | status | line | mutant | killed by / why equivalent |\n|---|---|---|---|---|");
  for (const x of results) console.log(`| ${x.id} | ${x.status} | ${x.line} | ${x.what} | ${x.killedBy.replaceAll("|", "\\|")} |`);
  const scored = killed + survived;
  const score = scored === 0 ? "n/a" : `${((100 * killed) / scored).toFixed(1)}%`;
  console.log(`\nkilled ${killed}, survived ${survived}, equivalent ${count("equivalent")}, stillborn ${count("stillborn")}, stale ${count("stale")}`);
  console.log(`mutation score (killed / (killed + survived)): ${score}`);
  if (survived > 0) console.log(`survivors: ${results.filter((x) => x.status === "survived").map((x) => x.id).join(", ")}`);
  // Non-zero on a survivor (a test gap) or a stale mutant (the contract moved: update the list).
  if (survived > 0 || count("stale") > 0) process.exitCode = 1;
}

if (import.meta.url === `file://${process.argv[1]}`) main();
