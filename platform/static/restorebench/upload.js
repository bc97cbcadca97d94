/* Resumable zip upload for the submission form.
 *
 * The file is hashed (SHA-256, computed here in slices so a 1 GB zip never sits in memory), an upload
 * session is opened with its size and hash, the file is sent in chunks at the offset the server
 * expects, and the server checks the hash of what it assembled before it creates the submission.
 * A dropped connection is retried; choosing the same file again later resumes the same session (its id
 * is kept in localStorage). Without JavaScript the form posts the file in one request instead.
 */
(function () {
  "use strict";

  var CHUNK_BYTES = 8 * 1024 * 1024;
  var HASH_SLICE_BYTES = 4 * 1024 * 1024;
  var RETRIES = 5;

  // --- SHA-256 (FIPS 180-4), incremental -----------------------------------------------------------
  var K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ]);

  function Sha256() {
    this.h = new Uint32Array([
      0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
    ]);
    this.w = new Uint32Array(64);
    this.buffer = new Uint8Array(64);
    this.buffered = 0;
    this.length = 0; // bytes hashed so far
  }

  Sha256.prototype.block = function (d, o) {
    var w = this.w, h = this.h, t, x, y;
    for (t = 0; t < 16; t++) {
      w[t] = (d[o + 4 * t] << 24) | (d[o + 4 * t + 1] << 16) | (d[o + 4 * t + 2] << 8) | d[o + 4 * t + 3];
    }
    for (t = 16; t < 64; t++) {
      x = w[t - 15];
      y = w[t - 2];
      var s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      var s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
    }
    var a = h[0], b = h[1], c = h[2], e = h[4], f = h[5], g = h[6], hh = h[7], dd = h[3];
    for (t = 0; t < 64; t++) {
      var S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      var ch = (e & f) ^ (~e & g);
      var t1 = (hh + S1 + ch + K[t] + w[t]) | 0;
      var S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      var maj = (a & b) ^ (a & c) ^ (b & c);
      var t2 = (S0 + maj) | 0;
      hh = g; g = f; f = e; e = (dd + t1) | 0; dd = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += dd; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  };

  Sha256.prototype.update = function (data) {
    var i = 0, n = data.length;
    this.length += n;
    if (this.buffered) {
      var take = Math.min(64 - this.buffered, n);
      this.buffer.set(data.subarray(0, take), this.buffered);
      this.buffered += take;
      i = take;
      if (this.buffered < 64) return;
      this.block(this.buffer, 0);
      this.buffered = 0;
    }
    for (; i + 64 <= n; i += 64) this.block(data, i);
    if (i < n) {
      this.buffer.set(data.subarray(i), 0);
      this.buffered = n - i;
    }
  };

  Sha256.prototype.hex = function () {
    var bits_hi = Math.floor(this.length / 0x20000000), bits_lo = (this.length * 8) >>> 0;
    var padLength = this.buffered < 56 ? 56 - this.buffered : 120 - this.buffered;
    var pad = new Uint8Array(padLength + 8);
    pad[0] = 0x80;
    var view = new DataView(pad.buffer);
    view.setUint32(padLength, bits_hi);
    view.setUint32(padLength + 4, bits_lo);
    var length = this.length;
    this.update(pad);
    this.length = length;
    var out = "";
    for (var k = 0; k < 8; k++) out += ("00000000" + this.h[k].toString(16)).slice(-8);
    return out;
  };

  // Exposed for tests (node) and the console.
  window.RestoreBenchSha256 = Sha256;

  // --- the form ------------------------------------------------------------------------------------
  var form = document.getElementById("submit-form");
  if (!form || !window.fetch || !window.Blob || !Blob.prototype.arrayBuffer) return;

  var input = form.querySelector("input[type=file]");
  var button = document.getElementById("submit-button");
  var box = document.getElementById("upload-progress");
  var bar = document.getElementById("progress-bar");
  var label = document.getElementById("progress-label");
  var numbers = document.getElementById("progress-numbers");
  var errorBox = document.getElementById("upload-error");
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;

  function url(template, id) { return template.replace("{id}", id); }

  function megabytes(n) { return (n / 1048576).toFixed(1) + " MB"; }

  function show(text, done, total) {
    box.hidden = false;
    label.textContent = text;
    bar.value = total ? (100 * done) / total : 0;
    numbers.textContent = total ? megabytes(done) + " / " + megabytes(total) + " (" + Math.floor((100 * done) / total) + "%)" : "";
  }

  function fail(message) {
    box.hidden = true;
    errorBox.hidden = false;
    errorBox.textContent = message;
    button.disabled = false;
    button.textContent = "Upload and submit";
  }

  function messageOf(body, status) {
    if (body && body.detail) return body.detail;
    if (body && typeof body === "object") {
      return Object.keys(body).map(function (k) { return k + ": " + [].concat(body[k]).join(" "); }).join("; ");
    }
    return "the server answered " + status;
  }

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function request(method, target, body, contentType) {
    var headers = { "X-CSRFToken": csrf, "Accept": "application/json" };
    if (contentType) headers["Content-Type"] = contentType;
    return fetch(target, { method: method, headers: headers, body: body, credentials: "same-origin" }).then(
      function (response) {
        return response.text().then(function (text) {
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text.slice(0, 300) }; }
          return { ok: response.ok, status: response.status, body: data };
        });
      }
    );
  }

  async function withRetries(make) {
    for (var attempt = 0; ; attempt++) {
      try {
        var answer = await make();
        if (answer.status < 500 || attempt >= RETRIES) return answer;
      } catch (networkError) {
        if (attempt >= RETRIES) throw new Error("network error: " + networkError.message);
      }
      show("Connection problem, retrying (" + (attempt + 1) + "/" + RETRIES + ")…", 0, 0);
      await sleep(Math.min(16000, 1000 * Math.pow(2, attempt)));
    }
  }

  async function hashFile(file) {
    var hash = new Sha256();
    for (var offset = 0; offset < file.size; offset += HASH_SLICE_BYTES) {
      var slice = file.slice(offset, Math.min(file.size, offset + HASH_SLICE_BYTES));
      hash.update(new Uint8Array(await slice.arrayBuffer()));
      show("Computing the file's checksum…", Math.min(file.size, offset + HASH_SLICE_BYTES), file.size);
    }
    return hash.hex();
  }

  async function openSession(file, key) {
    var saved = null;
    try { saved = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { saved = null; }
    if (saved && saved.id) {
      var existing = await withRetries(function () { return request("GET", url(form.dataset.detailUrl, saved.id)); });
      if (existing.ok && existing.body.status === "open") return existing.body;
      localStorage.removeItem(key);
    }
    var sha256 = await hashFile(file);
    var created = await withRetries(function () {
      return request("POST", form.dataset.createUrl,
        JSON.stringify({ filename: file.name, total_bytes: file.size, sha256: sha256 }), "application/json");
    });
    if (!created.ok) throw new Error(messageOf(created.body, created.status));
    localStorage.setItem(key, JSON.stringify({ id: created.body.id }));
    return created.body;
  }

  async function upload(file) {
    var key = ["restorebench-upload", form.dataset.phase, file.name, file.size, file.lastModified].join(":");
    var session = await openSession(file, key);
    var offset = session.received_bytes;
    show(offset ? "Resuming the upload…" : "Uploading…", offset, file.size);
    while (offset < file.size) {
      var end = Math.min(file.size, offset + CHUNK_BYTES);
      var chunk = file.slice(offset, end);
      var target = url(form.dataset.chunkUrl, session.id) + "?offset=" + offset;
      var answer = await withRetries(function () { return request("PUT", target, chunk, "application/octet-stream"); });
      if (answer.ok) {
        offset = answer.body.received_bytes;
      } else if (answer.status === 400 && answer.body && answer.body.errors && answer.body.errors.offset) {
        // A chunk whose answer was lost: ask where the server stands and go on from there.
        var state = await withRetries(function () { return request("GET", url(form.dataset.detailUrl, session.id)); });
        if (!state.ok) throw new Error(messageOf(state.body, state.status));
        offset = state.body.received_bytes;
      } else {
        if (answer.status !== 401 && answer.status !== 403) localStorage.removeItem(key);
        throw new Error(messageOf(answer.body, answer.status));
      }
      show("Uploading…", offset, file.size);
    }
    show("Checking the upload and submitting…", file.size, file.size);
    var fields = {
      method_name: form.querySelector("[name=method_name]").value,
      description: form.querySelector("[name=description]").value
    };
    // The page asks seconds per image (the site's unit); the API stores seconds per megapixel.
    var runtime = form.querySelector("[name=runtime]");
    var megapixels = parseFloat(form.dataset.megapixels);
    if (runtime && runtime.value !== "" && megapixels > 0) fields.runtime_per_mp = parseFloat(runtime.value) / megapixels;
    var done = await withRetries(function () {
      return request("POST", url(form.dataset.completeUrl, session.id), JSON.stringify(fields), "application/json");
    });
    localStorage.removeItem(key); // completed or refused: this session cannot be used again
    if (!done.ok) throw new Error(messageOf(done.body, done.status));
    return done.body;
  }

  form.addEventListener("submit", function (event) {
    var file = input.files && input.files[0];
    if (!file) return; // let the browser say the field is required
    event.preventDefault();
    errorBox.hidden = true;
    if (!/\.zip$/i.test(file.name)) return fail("Choose a .zip file (" + file.name + " is not one).");
    if (file.size > Number(form.dataset.maxBytes)) {
      return fail("The zip is " + megabytes(file.size) + "; this phase accepts at most " + megabytes(Number(form.dataset.maxBytes)) + ".");
    }
    button.disabled = true;
    button.textContent = "Uploading…";
    upload(file).then(
      function (submission) { window.location.href = url(form.dataset.submissionUrl, submission.id); },
      function (error) { fail("Not submitted: " + error.message); }
    );
  });
})();
