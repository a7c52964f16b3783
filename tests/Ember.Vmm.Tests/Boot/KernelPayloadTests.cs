using System.Buffers.Binary;
using System.IO.Compression;
using Ember.Vmm.Boot;
using K4os.Compression.LZ4;

namespace Ember.Vmm.Tests.Boot;

public sealed class KernelPayloadTests
{
    private static byte[] Vmlinux() => new ElfBuilder(ElfClass.Elf64)
        .Load(0x100_0000, Enumerable.Range(0, 0x3000).Select(i => (byte)(i % 251)).ToArray())
        .PvhNote(0x100_0040)
        .Build();

    private static byte[] BzImageWithPayload(byte[] payload)
    {
        var builder = new BzImageBuilder { KernelLength = 0x100 + payload.Length + 0x100, PayloadOffset = 0x100, PayloadLength = (uint)payload.Length };
        var image = builder.Build();
        payload.CopyTo(image, builder.SetupSize + 0x100);
        return image;
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(data);
        return [.. output.ToArray(), .. SizeSuffix(data)];
    }

    private static byte[] Zstd(byte[] data)
    {
        using var compressor = new ZstdSharp.Compressor();
        return [.. compressor.Wrap(data).ToArray(), .. SizeSuffix(data)];
    }

    /// <summary>The kernel's LZ4 legacy frame (magic, then size-prefixed blocks), with the build's size suffix.</summary>
    private static byte[] Lz4Legacy(byte[] data)
    {
        var output = new List<byte>();
        output.AddRange(BitConverter.GetBytes(0x184C_2102u));
        foreach (var chunk in data.Chunk(0x1000))
        {
            var block = new byte[LZ4Codec.MaximumOutputSize(chunk.Length)];
            int size = LZ4Codec.Encode(chunk, block);
            output.AddRange(BitConverter.GetBytes((uint)size));
            output.AddRange(block.AsSpan(0, size).ToArray());
        }
        output.AddRange(SizeSuffix(data));
        return [.. output];
    }

    private static byte[] SizeSuffix(byte[] data)
    {
        var suffix = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(suffix, (uint)data.Length);
        return suffix;
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    [InlineData("lz4")]
    public void TheEmbeddedVmlinuxComesOutByteForByteAndIsBootableThroughPvh(string compression)
    {
        byte[] vmlinux = Vmlinux();
        byte[] payload = compression switch { "gzip" => Gzip(vmlinux), "zstd" => Zstd(vmlinux), _ => Lz4Legacy(vmlinux) };
        byte[]? extracted = KernelPayload.TryExtractVmlinux(BzImageWithPayload(payload));
        Assert.NotNull(extracted);
        Assert.Equal(vmlinux, extracted);
        Assert.Equal(BootImageFormat.Pvh, BootImageFormatDetector.Detect(extracted));
    }

    [Fact]
    public void AnUnknownCompressionIsLeftToTheKernelsOwnDecompressor()
    {
        byte[] xzMagic = [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, 1, 2, 3, 4];
        Assert.Null(KernelPayload.TryExtractVmlinux(BzImageWithPayload(xzMagic)));
    }

    [Fact]
    public void ACorruptPayloadIsABootImageErrorNotACrash()
    {
        byte[] corrupt = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        Assert.Throws<BootImageException>(() => KernelPayload.TryExtractVmlinux(BzImageWithPayload(corrupt)));
    }
}
