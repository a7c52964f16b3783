#!/usr/bin/env python3
"""Sums xUnit v2+ XML result files: totals per assembly, how many KVM tests ran, and one closing line.

A KVM test is one with the trait Requires=kvm. It "ran" when it passed or failed; a skipped KVM test
did not run (the skip reason is printed so nobody mistakes a skip for a pass).
"""
import sys
import xml.etree.ElementTree as ET

passed = failed = skipped = 0
kvm_ran = kvm_skipped = 0
skip_reasons = []
for path in sys.argv[1:]:
    root = ET.parse(path).getroot()
    for assembly in root.iter("assembly"):
        name = assembly.get("name", "?").rsplit("/", 1)[-1]
        print(f"  {name}: {assembly.get('passed')} passed, {assembly.get('failed')} failed, {assembly.get('skipped')} skipped")
        for test in assembly.iter("test"):
            result = test.get("result")
            traits = {(t.get("name"), t.get("value")) for t in test.iter("trait")}
            is_kvm = ("Requires", "kvm") in traits
            if result == "Pass":
                passed += 1
                kvm_ran += is_kvm
            elif result == "Fail":
                failed += 1
                kvm_ran += is_kvm
            else:
                skipped += 1
                kvm_skipped += is_kvm
                reason = test.findtext("reason") or ""
                skip_reasons.append(f"{test.get('name')}: {reason.strip()}")

for reason in skip_reasons:
    print(f"  skipped: {reason}")
import os
where = os.environ.get("EMBER_KVM_WHERE", "this host's /dev/kvm")
print(f"KVM tests: {kvm_ran} ran on {where}, {kvm_skipped} skipped")
print(f"Tests: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
