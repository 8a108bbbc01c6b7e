// Fills or inspects an Azurite blob service for tests/probe_azure.rs, with a Shared Key signer of its own (Node's
// crypto, written from the Blob service's "Authorize with Shared Key" reference) so that the probe's Rust signer
// is checked against Azurite, not against itself.
//
// Usage: node azurite_setup.js ENDPOINT setup   containers "velero" (cluster-a empty, cluster-b holding a
//                                               directory Velero does not own) and "velero-other"
//        node azurite_setup.js ENDPOINT count CONTAINER PREFIX   prints how many blobs are under PREFIX
// ENDPOINT is the account's URL, http://127.0.0.1:PORT/devstoreaccount1.
const crypto = require("crypto");

const [endpoint, command, ...rest] = process.argv.slice(2);
// Azurite's well-known development account (its README, "Default Storage Account").
const account = "devstoreaccount1";
const key = Buffer.from(
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
  "base64",
);

async function request(method, path, query, body, extra = {}) {
  const url = new URL(endpoint + path);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const payload = body === undefined ? undefined : Buffer.from(body);
  const headers = { "x-ms-date": new Date().toUTCString(), "x-ms-version": "2021-12-02", ...extra };
  const canonical = Object.keys(headers).filter((k) => k.startsWith("x-ms-")).sort()
    .map((k) => `${k}:${headers[k]}`).join("\n");
  let resource = `/${account}${url.pathname}`;
  for (const k of [...url.searchParams.keys()].sort()) resource += `\n${k.toLowerCase()}:${url.searchParams.get(k)}`;
  const length = payload && payload.length ? String(payload.length) : "";
  const toSign = [method, "", "", length, "", "", "", "", "", "", "", "", canonical, resource].join("\n");
  const signature = crypto.createHmac("sha256", key).update(toSign, "utf8").digest("base64");
  headers.authorization = `SharedKey ${account}:${signature}`;
  const response = await fetch(url, { method, headers, body: payload });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${text}`);
  return text;
}

async function main() {
  if (command === "setup") {
    for (const container of ["velero", "velero-other"]) {
      await request("PUT", `/${container}`, { restype: "container" });
    }
    await request("PUT", "/velero/cluster-b/foreign/notes.txt", {}, "not Velero's", { "x-ms-blob-type": "BlockBlob" });
  } else if (command === "count") {
    const [container, prefix] = rest;
    const listing = await request("GET", `/${container}`, { restype: "container", comp: "list", prefix });
    console.log((listing.match(/<Blob>/g) || []).length);
  } else {
    throw new Error(`unknown command ${command}`);
  }
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
