using System.Diagnostics;
using Ember.Vmm.Acpi;
using Xunit;

namespace Ember.Vmm.Tests.Acpi;

/// <summary>
/// Cross-checks the tables with ACPICA's iasl (Debian package acpica-tools): each table must
/// disassemble without errors, the disassembled data tables must compile back to the very same
/// bytes (so iasl agrees with every field and checksum), and the disassembled DSDT must compile.
/// iasl 20200925 cannot disassemble a bare RSDP file (its header check expects a table length
/// at offset 4), so the RSDP is checked the other way round: iasl compiles the RSDP's fields and
/// must produce our bytes, checksums included. Skipped only when iasl is not installed.
/// </summary>
public sealed class IaslDisassemblyTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ember-iasl-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    public static TheoryData<string> Signatures => ["FACS", "DSDT", "FACP", "APIC", "MCFG", "RSDT", "XSDT"];

    public static TheoryData<string> DataTableSignatures => ["FACS", "FACP", "APIC", "MCFG", "RSDT", "XSDT"];

    private static readonly AcpiTableSet Tables = AcpiTableBuilder.Build(new AcpiPlatform(VcpuCount: 2)
    {
        PciInterruptRoutes = [new(1, 5), new(2, 10), new(3, 11), new(4, 5)],
    });

    [Theory]
    [MemberData(nameof(Signatures))]
    public void TableDisassemblesWithoutErrors(string signature)
    {
        string iasl = FindIasl();
        string file = Path.Combine(_directory, signature + ".dat");
        File.WriteAllBytes(file, Tables[signature].Bytes);

        var (exitCode, output) = Run(iasl, "-d", file);

        Assert.True(exitCode == 0, $"iasl -d exited with {exitCode}:\n{output}");
        Assert.DoesNotContain("Error", output);
        Assert.DoesNotContain("ERROR", output);
        string disassembly = File.ReadAllText(Path.ChangeExtension(file, ".dsl"));
        Assert.DoesNotContain("Error", disassembly);
        Assert.DoesNotContain("**** Unknown", disassembly);
    }

    [Theory]
    [MemberData(nameof(DataTableSignatures))]
    public void DisassembledDataTableRecompilesToTheSameBytes(string signature)
    {
        string iasl = FindIasl();
        string file = Path.Combine(_directory, signature + ".dat");
        File.WriteAllBytes(file, Tables[signature].Bytes);
        Assert.Equal(0, Run(iasl, "-d", file).ExitCode);
        string source = Path.ChangeExtension(file, ".dsl");
        string output = Path.Combine(_directory, "recompiled");

        var (exitCode, log) = Run(iasl, "-p", output, source);

        Assert.True(exitCode == 0, $"iasl could not recompile {signature}:\n{log}");
        byte[] recompiled = File.ReadAllBytes(output + ".aml");
        byte[] expected = (byte[])Tables[signature].Bytes.Clone();
        if (signature != "FACS")
        {
            // iasl stamps its own creator ID and revision; take those, then our checksum must equal iasl's.
            recompiled.AsSpan(AcpiTableHeader.CreatorIdOffset, 8).CopyTo(expected.AsSpan(AcpiTableHeader.CreatorIdOffset));
            AcpiTableHeader.Seal(expected);
        }
        Assert.Equal(expected, recompiled);
    }

    /// <summary>iasl's reading of the PCI root bridge and the ECAM reservation, field by field.</summary>
    [Fact]
    public void DsdtDescribesThePciRootBridgeAndReservesTheEcamRegion()
    {
        string iasl = FindIasl();
        string file = Path.Combine(_directory, "DSDT.dat");
        File.WriteAllBytes(file, Tables["DSDT"].Bytes);
        Assert.Equal(0, Run(iasl, "-d", file).ExitCode);
        // One line, comments (iasl names each field in one) and runs of blanks removed.
        var lines = File.ReadAllLines(Path.ChangeExtension(file, ".dsl"))
            .Select(line => System.Text.RegularExpressions.Regex.Replace(line.Split("//")[0], @"/\*.*?\*/", ""));
        string dsl = string.Join(' ', string.Join(' ', lines).Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries));

        Assert.Contains("Device (PCI0)", dsl);
        Assert.Contains("Name (_HID, EisaId (\"PNP0A08\") )", dsl);
        Assert.Contains("Name (_CID, EisaId (\"PNP0A03\") )", dsl);
        Assert.Contains("WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0x0000, 0x0000, 0x0000, 0x0000, 0x0001,", dsl);
        Assert.Contains("IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08, )", dsl);
        Assert.Contains("WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0x0000, 0x0000, 0x0CF7, 0x0000, 0x0CF8,", dsl);
        Assert.Contains("WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0x0000, 0x0D00, 0xFFFF, 0x0000, 0xF300,", dsl);
        Assert.Contains("DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite, 0x00000000, 0xC1000000, 0xDFFFFFFF, 0x00000000, 0x1F000000,", dsl);
        Assert.Contains("Name (_HID, EisaId (\"PNP0C02\") )", dsl);
        Assert.Contains("Memory32Fixed (ReadWrite, 0xE0000000, 0x00100000, )", dsl);
        // _PRT: slot << 16 | 0xFFFF (any function), pin 0 (INTA#), source Zero (a GSI), the GSI.
        Assert.Contains("Name (_PRT, Package (0x04) { Package (0x04) { 0x0001FFFF, Zero, Zero, 0x05 }, Package (0x04) { 0x0002FFFF, Zero, Zero, 0x0A }, "
            + "Package (0x04) { 0x0003FFFF, Zero, Zero, 0x0B }, Package (0x04) { 0x0004FFFF, Zero, Zero, 0x05 } })", dsl);
    }

    [Fact]
    public void RsdpCompiledByIaslFromItsFieldsMatchesOurBytes()
    {
        string iasl = FindIasl();
        var rsdp = Tables[Rsdp.Signature].Bytes;
        // iasl's data-table source for an RSDP; it computes both checksums itself.
        string source = Path.Combine(_directory, "rsdp.asl");
        File.WriteAllLines(source,
        [
            "[0008]                          Signature : \"RSD PTR \"",
            "[0001]                           Checksum : 00",
            $"[0006]                             Oem ID : \"{AcpiTableHeader.OemId}\"",
            $"[0001]                           Revision : {rsdp[Rsdp.RevisionOffset]:X2}",
            $"[0004]                       RSDT Address : {BitConverter.ToUInt32(rsdp, Rsdp.RsdtAddressOffset):X8}",
            $"[0004]                             Length : {BitConverter.ToUInt32(rsdp, Rsdp.LengthOffset):X8}",
            $"[0008]                       XSDT Address : {BitConverter.ToUInt64(rsdp, Rsdp.XsdtAddressOffset):X16}",
            "[0001]                  Extended Checksum : 00",
            "[0003]                           Reserved : 000000",
        ]);
        string output = Path.Combine(_directory, "rsdp-iasl");

        var (exitCode, log) = Run(iasl, "-p", output, source);

        Assert.True(exitCode == 0, $"iasl could not compile the RSDP source:\n{log}");
        Assert.Equal(rsdp, File.ReadAllBytes(output + ".aml"));
    }

    [Fact]
    public void DisassembledDsdtRecompiles()
    {
        string iasl = FindIasl();
        string file = Path.Combine(_directory, "dsdt.dat");
        File.WriteAllBytes(file, Dsdt.Encode());
        Assert.Equal(0, Run(iasl, "-d", file).ExitCode);
        string source = Path.ChangeExtension(file, ".dsl");

        var (exitCode, output) = Run(iasl, "-p", Path.Combine(_directory, "recompiled"), source);

        Assert.True(exitCode == 0, $"iasl could not recompile the DSDT:\n{output}\n{File.ReadAllText(source)}");
        Assert.Contains("0 Errors", output);
        Assert.Contains("_S5_", File.ReadAllText(source));
        Assert.Contains("PNP0501", File.ReadAllText(source));
    }

    private static string FindIasl()
    {
        string? path = Environment.GetEnvironmentVariable("PATH")?
            .Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, "iasl"))
            .FirstOrDefault(File.Exists);
        Assert.SkipWhen(path is null, "iasl not found: install acpica-tools (apt-get install -y acpica-tools) to cross-check the ACPI tables");
        return path!;
    }

    private (int ExitCode, string Output) Run(string executable, params string[] arguments)
    {
        var start = new ProcessStartInfo(executable)
        {
            WorkingDirectory = _directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {executable}");
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            process.Kill();
            throw new TimeoutException($"{executable} did not finish");
        }
        return (process.ExitCode, stdout + stderr.Result);
    }
}
