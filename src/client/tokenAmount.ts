// The parser lives in the protocol core (one parser for node, client and CLI); re-exported here so
// client code keeps importing it from its own layer.
export { formatTokenAmount, parseTokenAmount, TOKEN_DECIMALS } from "../protocol/tokenAmount.ts";
