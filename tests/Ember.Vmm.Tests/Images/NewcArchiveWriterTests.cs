using System.Runtime.Versioning;
using System.Text;
using Ember.Vmm.Images;

namespace Ember.Vmm.Tests.Images;

[SupportedOSPlatform("linux")]
public sealed class NewcArchiveWriterTests
{
    private const uint Mode0755 = 0b111_101_101;
    private const uint Mode0600 = 0b110_000_000;
    private const uint Mode0666 = 0b110_110_110;

    private static byte[] Write(Action<NewcArchiveWriter> add, uint mtime = 0)
    {
        using var output = new MemoryStream();
        using (var writer = new NewcArchiveWriter(output, mtime, leaveOpen: true))
        {
            add(writer);
            writer.Finish();
        }
        return output.ToArray();
    }

    /// <summary>A small tree with one of each entry kind, as the initramfs has.</summary>
    private static void AddSampleTree(NewcArchiveWriter writer)
    {
        writer.AddDirectory("bin");
        writer.AddFile("bin/hello", "#!/bin/sh\necho hello\n"u8, Mode0755);
        writer.AddSymlink("bin/sh", "hello");
        writer.AddDirectory("dev");
        writer.AddCharacterDevice("dev/console", 5, 1, Mode0600);
        writer.AddCharacterDevice("dev/null", 1, 3, Mode0666);
        writer.AddDirectory("tmp", 0b001_111_111_111);
        writer.AddFile("empty", []);
    }

    [Fact]
    public void AFileEntryAndTheTrailerHaveTheExactNewcLayout()
    {
        var archive = Write(w => w.AddFile("a", "hi"u8), mtime: 0x1234);

        var expected =
            // magic, ino 1, mode S_IFREG|0644, uid 0, gid 0, nlink 1, mtime, filesize 2,
            "070701" + "00000001" + "000081A4" + "00000000" + "00000000" + "00000001" + "00001234" + "00000002" +
            // devmajor, devminor, rdevmajor, rdevminor, namesize 2 ("a" + NUL), check
            "00000000" + "00000000" + "00000000" + "00000000" + "00000002" + "00000000" +
            "a\0" +                  // 110 + 2 = 112: already 4-aligned
            "hi\0\0" +               // data padded to 4
            "070701" + "00000000" + "00000000" + "00000000" + "00000000" + "00000001" + "00001234" + "00000000" +
            "00000000" + "00000000" + "00000000" + "00000000" + "0000000B" + "00000000" +
            "TRAILER!!!\0" + "\0\0\0"; // 110 + 11 = 121, padded to 124
        Assert.Equal(expected, Encoding.ASCII.GetString(archive));
    }

    [Theory]
    [InlineData("a")]
    [InlineData("ab")]
    [InlineData("abc")]
    [InlineData("abcd")]
    [InlineData("abcde")]
    [InlineData("ünïcødé")]
    public void NamesAndDataOfAnyLengthStayFourByteAligned(string name)
    {
        for (var size = 0; size < 6; size++)
        {
            var content = Enumerable.Range(1, size).Select(i => (byte)i).ToArray();
            var archive = Write(w => w.AddFile(name, content));

            Assert.Equal(0, archive.Length % 4);
            var entry = Assert.Single(NewcTestReader.Read(archive)); // The reader insists on zero padding to 4.
            Assert.Equal(name, entry.Name);
            Assert.Equal(content, entry.Data);
        }
    }

    [Fact]
    public void EveryEntryKindReadsBackWithItsFields()
    {
        var entries = NewcTestReader.Read(Write(AddSampleTree, mtime: 1_700_000_000));

        Assert.Equal(["bin", "bin/hello", "bin/sh", "dev", "dev/console", "dev/null", "tmp", "empty"], entries.Select(e => e.Name));
        Assert.Equal(Enumerable.Range(1, entries.Count).Select(i => (uint)i), entries.Select(e => e.Inode));
        Assert.All(entries, e =>
        {
            Assert.Equal(0u, e.Uid);
            Assert.Equal(0u, e.Gid);
            Assert.Equal(1_700_000_000u, e.ModificationTime);
            Assert.Equal(0u, e.Check);
        });

        var bin = entries[0];
        Assert.Equal(NewcTestEntry.TypeDirectory, bin.Type);
        Assert.Equal(Mode0755, bin.Permissions);
        Assert.Equal(2u, bin.LinkCount);

        var hello = entries[1];
        Assert.Equal(NewcTestEntry.TypeRegular, hello.Type);
        Assert.Equal(Mode0755, hello.Permissions);
        Assert.Equal("#!/bin/sh\necho hello\n", hello.DataText);

        var sh = entries[2];
        Assert.Equal(NewcTestEntry.TypeSymlink, sh.Type);
        Assert.Equal("hello", sh.DataText);

        var console = entries[4];
        Assert.Equal(NewcTestEntry.TypeCharDevice, console.Type);
        Assert.Equal(Mode0600, console.Permissions);
        Assert.Equal((5u, 1u), (console.RdevMajor, console.RdevMinor));
        Assert.Empty(console.Data);

        var devNull = entries[5];
        Assert.Equal((1u, 3u), (devNull.RdevMajor, devNull.RdevMinor));
        Assert.Equal(Mode0666, devNull.Permissions);

        Assert.Equal(0b001_111_111_111u, entries[6].Permissions);
        Assert.Empty(entries[7].Data);
    }

    [Fact]
    public void TheSameEntriesGiveTheSameBytes()
    {
        using var temp = new TempDirectory();
        var hostFile = temp.WriteFile("payload", new string('x', 5000));
        void AddAll(NewcArchiveWriter w)
        {
            AddSampleTree(w);
            w.AddFileFromHost("payload", hostFile);
        }

        var first = Write(AddAll);
        File.SetLastWriteTimeUtc(hostFile, new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc)); // Host metadata must not leak in.
        var second = Write(AddAll);

        Assert.Equal(first, second);
    }

    [Fact]
    public void AHostFileIsStreamedInWithItsExactBytes()
    {
        using var temp = new TempDirectory();
        var content = new byte[200_003]; // Several copy buffers and an unaligned tail.
        new Random(42).NextBytes(content);
        var hostFile = temp.Combine("blob");
        File.WriteAllBytes(hostFile, content);

        var entry = Assert.Single(NewcTestReader.Read(Write(w => w.AddFileFromHost("blob", hostFile, Mode0755))));

        Assert.Equal(content, entry.Data);
        Assert.Equal(NewcTestEntry.TypeRegular, entry.Type);
        Assert.Equal(Mode0755, entry.Permissions);
    }

    [Fact]
    public void AMissingHostFileFailsWithoutTakingTheName()
    {
        using var temp = new TempDirectory();
        var archive = Write(w =>
        {
            Assert.Throws<FileNotFoundException>(() => w.AddFileFromHost("x", temp.Combine("absent")));
            Assert.Equal(0, w.BytesWritten);
            w.AddFile("x", "ok"u8);
        });

        Assert.Equal("ok", Assert.Single(NewcTestReader.Read(archive)).DataText);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/init")]
    [InlineData("../etc/passwd")]
    [InlineData("bin/../init")]
    [InlineData("bin/..")]
    [InlineData("./init")]
    [InlineData("bin//sh")]
    [InlineData("bin/")]
    [InlineData("bin\0sh")]
    [InlineData("TRAILER!!!")]
    public void BadNamesAreRejectedBeforeAnythingIsWritten(string name)
    {
        using var output = new MemoryStream();
        using var writer = new NewcArchiveWriter(output, leaveOpen: true);
        writer.AddDirectory("bin");
        var before = output.Length;

        Assert.Throws<ArgumentException>(() => writer.AddFile(name, "x"u8));
        Assert.Throws<ArgumentException>(() => writer.AddSymlink(name, "x"));
        Assert.Throws<ArgumentException>(() => writer.AddDirectory(name));
        Assert.Equal(before, output.Length);
    }

    [Fact]
    public void AnOverlongNameIsRejected()
    {
        using var writer = new NewcArchiveWriter(new MemoryStream());
        writer.AddFile(new string('n', NewcArchiveWriter.MaxNameBytes), []);
        Assert.Throws<ArgumentException>(() => writer.AddFile(new string('m', NewcArchiveWriter.MaxNameBytes + 1), []));
    }

    [Fact]
    public void DuplicatesAreRejectedWhateverTheirKind()
    {
        using var writer = new NewcArchiveWriter(new MemoryStream());
        writer.AddDirectory("dev");
        writer.AddCharacterDevice("dev/null", 1, 3, Mode0666);

        Assert.Throws<ArgumentException>(() => writer.AddDirectory("dev"));
        Assert.Throws<ArgumentException>(() => writer.AddFile("dev/null", []));
        Assert.Throws<ArgumentException>(() => writer.AddSymlink("dev/null", "x"));
        Assert.Throws<ArgumentException>(() => writer.AddCharacterDevice("dev/null", 1, 3, Mode0666));
    }

    [Fact]
    public void AnEntryNeedsItsParentDirectoryFirst()
    {
        using var writer = new NewcArchiveWriter(new MemoryStream());
        Assert.Throws<ArgumentException>(() => writer.AddFile("lib/modules/x.ko", []));

        writer.AddFile("file", []);
        Assert.Throws<ArgumentException>(() => writer.AddFile("file/child", [])); // A file is no parent.
        writer.AddSymlink("link", "lib");
        Assert.Throws<ArgumentException>(() => writer.AddFile("link/child", [])); // Nor is a symlink.
    }

    [Fact]
    public void EnsureDirectoryAddsMissingAncestorsOnceInOrder()
    {
        var archive = Write(w =>
        {
            w.AddDirectory("lib");
            w.EnsureDirectory("lib/modules/6.1/kernel");
            w.EnsureDirectory("lib/modules/6.1/kernel/drivers");
            w.EnsureDirectory("lib/modules");
            w.AddFile("lib/modules/6.1/kernel/drivers/a.ko", "elf"u8);
        });

        Assert.Equal(
            ["lib", "lib/modules", "lib/modules/6.1", "lib/modules/6.1/kernel", "lib/modules/6.1/kernel/drivers", "lib/modules/6.1/kernel/drivers/a.ko"],
            NewcTestReader.Read(archive).Select(e => e.Name));
    }

    [Fact]
    public void EnsureDirectoryRefusesToReplaceAFile()
    {
        using var writer = new NewcArchiveWriter(new MemoryStream());
        writer.AddFile("lib", []);
        Assert.Throws<ArgumentException>(() => writer.EnsureDirectory("lib/modules"));
    }

    [Fact]
    public void OutOfRangeModesAndDeviceNumbersAreRejected()
    {
        using var writer = new NewcArchiveWriter(new MemoryStream());
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.AddFile("a", [], permissions: 0x8000 | 0b110_100_100)); // Type bits are the writer's.
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.AddCharacterDevice("c", NewcArchiveWriter.MaxDeviceMajor + 1, 0, Mode0600));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.AddCharacterDevice("c", 0, NewcArchiveWriter.MaxDeviceMinor + 1, Mode0600));
        Assert.Throws<ArgumentException>(() => writer.AddSymlink("s", ""));
        writer.AddCharacterDevice("c", NewcArchiveWriter.MaxDeviceMajor, NewcArchiveWriter.MaxDeviceMinor, Mode0600);
    }

    [Fact]
    public void NothingCanBeAddedAfterFinish()
    {
        using var writer = new NewcArchiveWriter(new MemoryStream());
        writer.Finish();
        Assert.Throws<InvalidOperationException>(() => writer.AddFile("late", []));
        Assert.Throws<InvalidOperationException>(() => writer.Finish());
    }

    [Fact]
    public void GnuCpioListsEveryEntryWithTypeModeAndDeviceNumbers()
    {
        var cpio = HostTool.RequireCpio();
        var archive = Write(AddSampleTree);

        var names = HostTool.Run(cpio, ["-it", "--quiet"], archive);
        Assert.Equal(0, names.ExitCode);
        Assert.Equal(["bin", "bin/hello", "bin/sh", "dev", "dev/console", "dev/null", "tmp", "empty"], HostTool.Lines(names.StandardOutput));

        var verbose = HostTool.Run(cpio, ["-itv", "--quiet"], archive);
        Assert.Equal(0, verbose.ExitCode);
        var lines = HostTool.Lines(verbose.StandardOutput);
        Assert.Matches(@"^drwxr-xr-x\s+2\s+root\s+root\s.*\sbin$", lines[0]);
        Assert.Matches(@"^-rwxr-xr-x\s+1\s+root\s+root\s+21\s.*\sbin/hello$", lines[1]);
        Assert.Matches(@"^lrwxrwxrwx\s.*\sbin/sh -> hello$", lines[2]);
        Assert.Matches(@"^crw-------\s+1\s+root\s+root\s+5,\s+1\s.*\sdev/console$", lines[4]);
        Assert.Matches(@"^crw-rw-rw-\s+1\s+root\s+root\s+1,\s+3\s.*\sdev/null$", lines[5]);
        Assert.Matches(@"^drwxrwxrwt\s.*\stmp$", lines[6]);
    }

    [Fact]
    public void GnuCpioExtractsFilesSymlinksAndDirectories()
    {
        var cpio = HostTool.RequireCpio();
        using var temp = new TempDirectory();
        var payload = new byte[70_001];
        new Random(7).NextBytes(payload);
        var hostFile = temp.Combine("payload.bin");
        File.WriteAllBytes(hostFile, payload);
        var archive = Write(w =>
        {
            w.AddDirectory("bin");
            w.AddFile("bin/hello", "#!/bin/sh\necho hello\n"u8, Mode0755);
            w.AddSymlink("bin/sh", "hello");
            w.AddDirectory("data");
            w.AddFileFromHost("data/payload.bin", hostFile);
        });
        var root = Directory.CreateDirectory(temp.Combine("root")).FullName;

        var result = HostTool.Run(cpio, ["-idv", "--quiet"], archive, workingDirectory: root);

        Assert.True(result.ExitCode == 0, result.StandardError);
        Assert.Equal("#!/bin/sh\necho hello\n", File.ReadAllText(Path.Combine(root, "bin/hello")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute,
            File.GetUnixFileMode(Path.Combine(root, "bin/hello")));
        Assert.Equal("hello", new FileInfo(Path.Combine(root, "bin/sh")).LinkTarget);
        Assert.Equal(payload, File.ReadAllBytes(Path.Combine(root, "data/payload.bin")));
        // -v names each entry on stderr as it is extracted.
        Assert.Equal(["bin", "bin/hello", "bin/sh", "data", "data/payload.bin"], HostTool.Lines(result.StandardError));
    }

    [Fact]
    public void TheInTestReaderRejectsDamagedArchives()
    {
        // Guards the guard: the checks above are only as good as the reader's strictness.
        var good = Write(w => w.AddFile("a", "hi"u8));
        Assert.Single(NewcTestReader.Read(good));

        var badPadding = (byte[])good.Clone();
        badPadding[114] = (byte)'!'; // First padding byte after "hi".
        Assert.Throws<InvalidDataException>(() => NewcTestReader.Read(badPadding));

        Assert.Throws<InvalidDataException>(() => NewcTestReader.Read(good[..^124])); // No trailer.
        Assert.Throws<InvalidDataException>(() => NewcTestReader.Read([.. good, 0, 0, 0, 0]));
    }
}
