#!/usr/bin/env python3
"""Write a .nupkg (an OPC zip) from a nuspec and a staging directory laid out as the package.

    scripts/nupkg.py NUSPEC STAGE_DIR OUT.nupkg

Used instead of `nuget pack` because Mono's NuGet 2.8 predates the nuspec elements a package
needs today (<license type="expression">, <repository>, <readme>) and rewrites a
<group targetFramework="netstandard2.0"> as "Unsupported0.0". Every file under STAGE_DIR goes
into the package at the same relative path; the nuspec is stored at the root with its <files>
element dropped (a packed nuspec has none), plus the OPC parts NuGet clients expect:
[Content_Types].xml, _rels/.rels and the core-properties part.
"""

from __future__ import annotations

import sys
import uuid
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

NS = "http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd"


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    nuspec_path, stage, out = Path(argv[1]), Path(argv[2]), Path(argv[3])
    ET.register_namespace("", NS)
    tree = ET.parse(nuspec_path)
    root = tree.getroot()
    meta = root.find(f"{{{NS}}}metadata")
    if meta is None:
        raise SystemExit(f"{nuspec_path}: no <metadata>")

    def field(name: str) -> str:
        el = meta.find(f"{{{NS}}}{name}")
        if el is None or not (el.text or "").strip():
            raise SystemExit(f"{nuspec_path}: <{name}> missing or empty")
        return el.text.strip()

    pid, version = field("id"), field("version")
    readme = meta.find(f"{{{NS}}}readme")
    for el in root.findall(f"{{{NS}}}files"):
        root.remove(el)
    files = sorted(p for p in stage.rglob("*") if p.is_file() and p.suffix != ".nuspec")
    names = [p.relative_to(stage).as_posix() for p in files]
    if readme is not None and (readme.text or "").strip() not in names:
        raise SystemExit(f"<readme>{readme.text}</readme> is not in {stage}")
    nuspec_bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)

    exts = {"rels", "psmdcr", "nuspec"}
    overrides = []
    for n in names:
        last = n.rsplit("/", 1)[-1]
        if "." in last:
            exts.add(last.rsplit(".", 1)[1])
        else:
            overrides.append(n)
    ct = ['<?xml version="1.0" encoding="utf-8"?>',
          '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">']
    ct += [f'<Default Extension="{e}" ContentType="application/octet" />' for e in sorted(exts)]
    ct += [f'<Override PartName="/{n}" ContentType="application/octet" />' for n in overrides]
    ct.append("</Types>")

    props = f"package/services/metadata/core-properties/{uuid.uuid4().hex}.psmdcr"
    rels = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Type="http://schemas.microsoft.com/packaging/2010/07/manifest" Target="/{pid}.nuspec" Id="R1" />'
        '<Relationship Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" '
        f'Target="/{props}" Id="R2" /></Relationships>'
    )
    core = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<coreProperties xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns="http://schemas.openxmlformats.org/package/2006/metadata/core-properties">'
        f"<dc:creator>{field('authors')}</dc:creator><dc:description>{field('description')}</dc:description>"
        f"<dc:identifier>{pid}</dc:identifier><version>{version}</version>"
        "<lastModifiedBy>bridgehost scripts/nupkg.py</lastModifiedBy></coreProperties>"
    )
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("_rels/.rels", rels)
        z.writestr(f"{pid}.nuspec", nuspec_bytes)
        for p, n in zip(files, names):
            z.write(p, n)
        z.writestr(props, core)
        z.writestr("[Content_Types].xml", "\n".join(ct))
    tmp.replace(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
