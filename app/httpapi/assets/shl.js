// The SMART Health Link viewer: reads the shlink in the fragment (it never
// reaches a server), asks the manifest for the files, decrypts each JWE
// (dir, A256GCM) in the browser with the link's key and shows the FHIR
// resources. Nothing but the manifest request leaves the page.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var enc = new TextEncoder(), dec = new TextDecoder();
  function say(msg, cls) { var s = $("status"); s.textContent = msg; s.className = cls || "muted"; }
  // localTime shows a date-time in the viewer's own time, with its zone
  // ("1 Mar 2024, 10:30 PST"); a date alone stays as it is (no time, no zone).
  function localTime(v) {
    var d = typeof v === "number" ? new Date(v) : (/T\d\d:\d\d/.test(v) ? new Date(v) : null);
    if (!d || isNaN(d.getTime())) return String(v);
    return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
  }
  function bytes(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  var frag = location.hash.slice(1);
  try { frag = decodeURIComponent(frag); } catch (e) {}
  var at = frag.indexOf("shlink:/");
  var p;
  try { p = JSON.parse(dec.decode(bytes(frag.slice(at + 8)))); } catch (e) { p = null; }
  if (at < 0 || !p || !p.url || !p.key) { say("This link is incomplete: it carries no SMART Health Link.", "error"); return; }
  $("label").textContent = p.label || "Shared health records";
  if (p.exp && p.exp * 1000 < Date.now()) { say("This link has expired.", "error"); return; }
  var flag = p.flag || "";
  if (flag.indexOf("P") >= 0) { $("pc").hidden = false; $("passcode").required = true; }
  $("form").hidden = false;
  say((flag.indexOf("P") >= 0 ? "Give your name and the passcode the patient gave you." : "Give your name to open the records; the patient sees who opened them.") +
    (p.exp ? " The link works until " + localTime(p.exp * 1000) + "." : ""));
  var keyP = crypto.subtle.importKey("raw", bytes(p.key), { name: "AES-GCM" }, false, ["decrypt"]);

  async function decrypt(jwe) {
    var parts = jwe.split(".");
    if (parts.length !== 5) throw new Error("not a compact JWE");
    var hdr = JSON.parse(dec.decode(bytes(parts[0])));
    if (hdr.alg !== "dir" || hdr.enc !== "A256GCM") throw new Error("unsupported JWE " + hdr.alg + "/" + hdr.enc);
    var ct = bytes(parts[3]), tag = bytes(parts[4]);
    var data = new Uint8Array(ct.length + tag.length);
    data.set(ct); data.set(tag, ct.length);
    var pt = await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes(parts[2]), additionalData: enc.encode(parts[0]), tagLength: 128 }, await keyP, data);
    if (hdr.zip === "DEF") {
      pt = await new Response(new Blob([pt]).stream().pipeThrough(new DecompressionStream("deflate-raw"))).arrayBuffer();
    }
    return dec.decode(pt);
  }
  function text(cc) {
    if (!cc) return "";
    if (cc.text) return cc.text;
    var c = (cc.coding || [])[0];
    return c ? (c.display || c.code || "") : "";
  }
  var labels = { AllergyIntolerance: "Allergy", Immunization: "Immunization", Condition: "Condition", MedicationStatement: "Medication", Observation: "Observation", DocumentReference: "Document" };
  function el(tag, txt, cls) { var e = document.createElement(tag); if (txt !== undefined) e.textContent = txt; if (cls) e.className = cls; return e; }
  function show(bundle) {
    var out = $("records");
    out.textContent = "";
    var n = 0;
    (bundle.entry || []).forEach(function (en) {
      var r = en.resource || {};
      if (r.resourceType === "Patient") {
        var nm = (r.name || [])[0];
        var who = nm ? (nm.text || [].concat(nm.given || [], nm.family || []).join(" ")) : "";
        $("patient").textContent = (who ? "Patient: " + who : "Patient") + (r.birthDate ? ", born " + r.birthDate : "");
        return;
      }
      n++;
      var sec = el("section", undefined, "record");
      var kind = labels[r.resourceType] || r.resourceType;
      if (r.resourceType === "Observation") {
        var cat = text((r.category || [])[0]);
        if (cat) kind = cat;
      }
      sec.appendChild(el("h2", kind));
      var main = text(r.code) || text(r.vaccineCode) || text(r.medicationCodeableConcept) || r.description || "";
      if (main) sec.appendChild(el("p", main, "main"));
      var val = r.valueString || (r.valueQuantity ? r.valueQuantity.value + " " + (r.valueQuantity.unit || "") : "") || text(r.valueCodeableConcept);
      if (val && val !== main) sec.appendChild(el("p", val));
      var when = r.occurrenceDateTime || r.effectiveDateTime || r.recordedDate || r.occurrenceString || "";
      if (when) sec.appendChild(el("p", "Date: " + localTime(when), "muted"));
      (r.note || []).forEach(function (nt) { sec.appendChild(el("p", nt.text)); });
      (r.content || []).forEach(function (c) {
        var a = c.attachment || {};
        if (a.data && /^text\//.test(a.contentType || "text/plain")) sec.appendChild(el("pre", dec.decode(bytes(a.data.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")))));
      });
      out.appendChild(sec);
    });
    if (!n) out.appendChild(el("p", "No records are shared through this link at the moment.", "muted"));
  }
  $("form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    say("Opening…");
    var body = { recipient: $("recipient").value };
    if (flag.indexOf("P") >= 0) body.passcode = $("passcode").value;
    try {
      var res = await fetch(p.url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      var m = await res.json().catch(function () { return {}; });
      if (res.status === 401) { say("The passcode is wrong: " + (m.remainingAttempts || 0) + " attempts left.", "error"); return; }
      if (res.status === 404) { say("This link is no longer active (expired, revoked or locked).", "error"); return; }
      if (!res.ok) { say(m.status || ("The link answered " + res.status + "."), "error"); return; }
      var entries = [];
      for (var f of m.files || []) {
        var jwe = f.embedded;
        if (!jwe && f.location) { var r = await fetch(f.location); if (!r.ok) throw new Error("a file answered " + r.status); jwe = await r.text(); }
        if (f.contentType === "application/fhir+json") entries = entries.concat(JSON.parse(await decrypt(jwe)).entry || []);
      }
      show({ entry: entries });
      $("form").hidden = true;
      say("Decrypted in this browser. This opening is logged and shown to the patient.", "ok");
    } catch (e) {
      say("The records could not be opened: " + e.message, "error");
    }
  });
})();
