#!/usr/bin/env node
// Prints a fresh ES256 private JWK for WARDEN_AUTH_PRIVATE_JWK (the built-in owner issuer's signing key).
import { generateKeyPairSync, randomBytes } from "node:crypto";

const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const jwk = privateKey.export({ format: "jwk" });
jwk.kid = `warden-${randomBytes(4).toString("hex")}`;
console.log(JSON.stringify(jwk));
