using Xunit;
using CsCheck;
using Ember.Vmm.Boot;
using Ember.Vmm.Tests.Fakes;

namespace Ember.Vmm.Tests.Boot;

/// <summary>
/// Hostile-input properties: whatever bytes arrive as a kernel image, the parsers and loaders
/// either succeed or throw <see cref="BootImageException"/> — never an index, overflow or
/// memory exception, never a hang.
/// </summary>
public class BootParserPropertyTests
{
    private const ulong GuestMemorySize = 64UL << 20;
    private const long Iterations = 1000;

    private static readonly IBootLoader[] Loaders = [new LinuxBootLoader(), new PvhBootLoader(), new MultibootLoader()];

    /// <summary>Valid images of every kind, the seeds that mutation starts from.</summary>
    private static readonly byte[][] Seeds =
    [
        new BzImageBuilder { KernelLength = 2048, InitSize = 0x10_0000, PayloadLength = 0x100 }.Build(),
        new BzImageBuilder { KernelLength = 2048, Version = 0x0206, XLoadFlags = 0, PayloadLength = 0x100 }.Build(),
        new ElfBuilder(ElfClass.Elf64).Load(0x100_0000, new byte[256], memorySize: 0x2000, virtualAddress: 0xFFFF_FFFF_8100_0000).PvhNote(0x100_0010).Build(),
        new ElfBuilder(ElfClass.Elf32).Load(0x100_0000, new byte[256], memorySize: 0x2000).PvhNote(0x100_0010).Build(),
        MultibootImages.Elf32Kernel().Build(),
        MultibootImages.AoutKludgeKernel(out _, out _, out _),
    ];

    private static void OnlyBootImageExceptions(byte[] image)
    {
        Run(() => BootImageFormatDetector.Detect(image));
        Run(() => BzImage.Parse(image));
        Run(() => ElfImage.Parse(image).Notes());
        Run(() => MultibootHeader.TryFind(image, out _));
        foreach (var loader in Loaders)
        {
            var memory = ByteArrayGuestMemory.WithLayout(GuestMemorySize);
            Run(() => loader.Load(memory, new BootRequest(image, "console=ttyS0") { Initrd = new byte[4096] }));
        }
    }

    private static void Run(Action action)
    {
        try
        {
            action();
        }
        catch (BootImageException)
        {
            // The one acceptable failure.
        }
    }

    private static void Run<T>(Func<T> action) => Run(() => { _ = action(); });

    [Fact]
    public void RandomBytesOnlyEverFailWithBootImageException()
    {
        Gen.Byte.Array[0, 4096].Sample(OnlyBootImageExceptions, iter: Iterations);
    }

    [Fact]
    public void RandomBytesBehindEachMagicOnlyEverFailWithBootImageException()
    {
        // Random bodies that get past the first magic check of each format.
        Gen.Select(Gen.Int[0, 2], Gen.Byte.Array[0x300, 0x1400]).Sample((kind, body) =>
        {
            switch (kind)
            {
                case 0:
                    body[0x202] = (byte)'H'; body[0x203] = (byte)'d'; body[0x204] = (byte)'r'; body[0x205] = (byte)'S';
                    body[0x1FE] = 0x55; body[0x1FF] = 0xAA;
                    body[0x206] = 0x0F; body[0x207] = 0x02;
                    body[0x1F1] = 1;
                    break;
                case 1:
                    body[0] = 0x7F; body[1] = (byte)'E'; body[2] = (byte)'L'; body[3] = (byte)'F';
                    body[4] = (byte)(1 + (body[4] & 1)); body[5] = 1; body[6] = 1;
                    break;
                default:
                    MultibootImages.Header(body[100] % 2 == 0 ? MultibootHeader.FlagAddressFields : 0,
                        headerAddress: 0x20_0000, loadAddress: 0x20_0000, entry: 0x20_0010).CopyTo(body, 0);
                    break;
            }
            OnlyBootImageExceptions(body);
        }, iter: Iterations);
    }

    [Fact]
    public void MutatedValidImagesOnlyEverFailWithBootImageException()
    {
        var mutation = Gen.Select(Gen.Int[0, 0x7FF], Gen.Byte, Gen.Int[0, 7]);
        Gen.Select(Gen.Int[0, Seeds.Length - 1], mutation.Array[1, 12], Gen.Int[0, 9]).Sample((seed, mutations, truncate) =>
        {
            var image = (byte[])Seeds[seed].Clone();
            foreach (var (offset, value, bit) in mutations)
            {
                int at = offset % image.Length;
                // Half the mutations flip one bit (near-valid values), half write a random byte.
                image[at] = value % 2 == 0 ? (byte)(image[at] ^ (1 << bit)) : value;
            }
            if (truncate == 0)
            {
                image = image[..(image.Length * mutations.Length / 13)];
            }
            OnlyBootImageExceptions(image);
        }, iter: Iterations * 3);
    }

    [Fact]
    public void MutatedSeedsStillIncludeSuccessfulLoads()
    {
        // Guards the properties above against vacuity: unmutated seeds do load.
        foreach (var seed in Seeds)
        {
            var loader = BootImageFormatDetector.CreateLoader(seed);
            var entry = loader.Load(ByteArrayGuestMemory.WithLayout(GuestMemorySize), new BootRequest(seed, "") { Initrd = new byte[4096] });
            Assert.NotEqual(0UL, entry.EntryPoint);
        }
    }
}
