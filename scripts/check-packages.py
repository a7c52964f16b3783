#!/usr/bin/env python3
"""Checks the NuGet packages `dotnet pack` made from src/ (the library a .NET program embeds): one per
library, each with its assembly and XML docs under lib/net10.0, and the Ember packages it needs named
as dependencies at the same version, so that a program referencing Ember.Vmm gets the whole library.
Usage: scripts/check-packages.py PACKAGE_DIR"""
import re, sys, zipfile, pathlib, xml.etree.ElementTree as ET

EXPECTED = {"Ember.Sys": set(), "Ember.Memory": set(), "Ember.Kvm": {"Ember.Sys"}, "Ember.Devices": {"Ember.Sys"},
            "Ember.Vmm": {"Ember.Devices", "Ember.Kvm", "Ember.Memory"}, "Ember.Api": {"Ember.Vmm"}}
folder = pathlib.Path(sys.argv[1])
problems = []
found = {}
for package in folder.glob("*.nupkg"):
    match = re.fullmatch(r"(Ember\.[A-Za-z]+)\.(\d+\.\d+\.\d+)\.nupkg", package.name)
    if match:
        found[match.group(1)] = (package, match.group(2))
for name, needs in EXPECTED.items():
    if name not in found:
        problems.append(f"{name}: no package in {folder}")
        continue
    package, version = found[name]
    with zipfile.ZipFile(package) as archive:
        entries = set(archive.namelist())
        for wanted in (f"lib/net10.0/{name}.dll", f"lib/net10.0/{name}.xml"):
            if wanted not in entries:
                problems.append(f"{package.name}: {wanted} is missing")
        nuspec = ET.fromstring(archive.read(f"{name}.nuspec"))
    dependencies = {d.get("id"): d.get("version") for d in nuspec.iter() if d.tag.endswith("}dependency")}
    for need in needs:
        if dependencies.get(need) != version:
            problems.append(f"{package.name}: depends on {need} {dependencies.get(need)}, not {version}")
for problem in problems:
    print(f"check-packages: {problem}", file=sys.stderr)
print(f"check-packages: {len(EXPECTED)} library packages, {'problems above' if problems else 'each with its docs and dependencies'}")
sys.exit(1 if problems else 0)
