#!/usr/bin/env python3
"""Builds profiles/hl7.fhir.r4.core-4.0.1.tgz from the npm package hl7.fhir.r4.examples@4.0.1.

hl7.fhir.r4.core is not on the npm registry, but the examples package carries every R4
conformance resource. This keeps the seven conformance types the server needs, minified
(lossless), in the standard NPM package layout with an .index.json.

    npm pack hl7.fhir.r4.examples@4.0.1 && python3 profiles/build-r4-core.py hl7.fhir.r4.examples-4.0.1.tgz
"""
import io, json, sys, tarfile, time

KEEP = {"StructureDefinition", "SearchParameter", "CodeSystem", "ValueSet", "ConceptMap",
        "OperationDefinition", "CompartmentDefinition"}

def main(src, dst="profiles/hl7.fhir.r4.core-4.0.1.tgz"):
    files, index = [], []
    with tarfile.open(src) as tar:
        for m in tar.getmembers():
            name = m.name.split("/", 1)[1]
            if "/" in name or not name.endswith(".json") or name == "package.json":
                continue
            res = json.loads(tar.extractfile(m).read().decode("utf-8-sig"))
            if res.get("resourceType") not in KEEP:
                continue
            files.append((name, json.dumps(res, ensure_ascii=False, separators=(",", ":")).encode()))
            index.append({k: res[k] for k in ("resourceType", "id", "url", "version") if k in res}
                         | {"filename": name})
    manifest = {"name": "hl7.fhir.r4.core", "version": "4.0.1", "fhirVersions": ["4.0.1"],
                "type": "Core", "license": "CC0-1.0", "canonical": "http://hl7.org/fhir",
                "title": "FHIR R4 conformance resources (from hl7.fhir.r4.examples@4.0.1)",
                "url": "http://hl7.org/fhir/R4"}
    files.append(("package.json", json.dumps(manifest, indent=2).encode()))
    files.append((".index.json", json.dumps({"index-version": 1, "files": index}).encode()))
    with tarfile.open(dst, "w:gz", compresslevel=9) as out:
        for name, data in sorted(files):
            info = tarfile.TarInfo("package/" + name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            out.addfile(info, io.BytesIO(data))
    print(f"{dst}: {len(files) - 2} resources")

if __name__ == "__main__":
    main(*sys.argv[1:])
