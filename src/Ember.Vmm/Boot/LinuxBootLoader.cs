using Ember.Memory;

namespace Ember.Vmm.Boot;

/// <summary>
/// Boots a Linux bzImage the way a boot loader does for the 64-bit boot protocol
/// (Documentation/arch/x86/boot.rst): protected-mode kernel at 1 MiB, command line at
/// <see cref="Layout.CommandLine"/>, initrd at the top of low RAM below initrd_addr_max,
/// a filled zero page at <see cref="Layout.ZeroPage"/>, identity-mapped long mode, and entry at
/// load address + 0x200 with RSI = zero page. Kernels without XLF_KERNEL_64 (32-bit builds)
/// get the 32-bit protocol instead: protected mode, entry at the load address, ESI = zero page.
/// </summary>
public sealed class LinuxBootLoader : IBootLoader
{
    /// <summary>
    /// heap_end_ptr: offset of the end of the setup heap from the real-mode code, minus 0x200
    /// (boot.rst). The real-mode code does not run with the 64-bit entry; 0xFE00 declares the
    /// conventional full 64 KiB setup segment.
    /// </summary>
    public const ushort HeapEndPointer = 0xFE00;

    /// <summary>Protocol that added boot_params.acpi_rsdp_addr.</summary>
    private const ushort ProtocolAcpiRsdp = 0x020E;

    public BootImageFormat Format => BootImageFormat.LinuxBzImage;

    public BootEntry Load(IGuestMemory memory, BootRequest request)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(request);

        var image = BzImage.Parse(request.Kernel);
        ulong lowRamEnd = GuestRam.LowRamEnd(memory);

        // Kernel at 1 MiB. Its footprint is the loaded bytes, or more if init_size says the
        // kernel needs room from its runtime start (boot.rst, init_size) before it reads E820.
        ulong loadAddress = Layout.KernelLoadAddress;
        var kernel = image.ProtectedModeKernel;
        ulong kernelEnd = loadAddress + (ulong)kernel.Length;
        ulong runtimeStart = image.RuntimeStart(loadAddress);
        ulong runtimeEnd = image.InitSize == 0 ? 0
            : runtimeStart > ulong.MaxValue - image.InitSize ? ulong.MaxValue : runtimeStart + image.InitSize;
        ulong footprintEnd = Math.Max(kernelEnd, runtimeEnd);
        if (footprintEnd > lowRamEnd)
        {
            throw new BootImageException(
                $"kernel needs guest RAM up to 0x{footprintEnd:x} (loaded at 0x{loadAddress:x}, init_size 0x{image.InitSize:x} from 0x{runtimeStart:x}) but low RAM ends at 0x{lowRamEnd:x}");
        }
        GuestRam.Write(memory, loadAddress, kernel.Span, "kernel");

        ulong commandLine = BootCommandLine.Write(memory, request.CommandLine, (int)Math.Min(image.CommandLineSize, int.MaxValue));

        var bootParams = new LinuxBootParams();
        bootParams.CopySetupHeader(image.SetupHeader);
        bootParams.TypeOfLoader = LinuxBootParams.UndefinedLoaderType;
        bootParams.LoadFlags = (byte)(image.LoadFlags | BzImage.CanUseHeap);
        bootParams.HeapEndPtr = HeapEndPointer;
        bootParams.CommandLinePointer = commandLine;
        // Whatever the image's header held here is not ours to pass on.
        bootParams.RamdiskImage = 0;
        bootParams.RamdiskSize = 0;

        if (!request.Initrd.IsEmpty)
        {
            // initrd_addr_max is the highest address the initrd may occupy, so its end may be one past it.
            ulong ceiling = Math.Min(lowRamEnd, (ulong)image.InitrdAddressMax + 1);
            ulong size = (ulong)request.Initrd.Length;
            ulong address = InitrdPlacement.Place(size, AlignUp(footprintEnd), ceiling);
            GuestRam.Write(memory, address, request.Initrd.Span, "initrd");
            bootParams.RamdiskImage = address;
            bootParams.RamdiskSize = size;
        }

        bootParams.SetE820(E820Map.ForRam(memory.Regions));
        if (request.AcpiRsdp is { } rsdp && image.ProtocolVersion >= ProtocolAcpiRsdp)
        {
            bootParams.AcpiRsdpAddress = rsdp.Value;
        }
        GuestRam.Write(memory, Layout.ZeroPage, bootParams.Bytes, "zero page");

        var registers = new BootRegisters(Rax: 0, Rbx: 0, Rsi: Layout.ZeroPage, Rsp: Layout.BootStackPointer, Rflags: BootRegisters.InitialRflags);
        return image.Supports64BitEntry
            ? new BootEntry(BootCpuMode.Long64, loadAddress + BzImage.Entry64Offset, registers, LongModeSetup.Write(memory))
            : new BootEntry(BootCpuMode.Protected32, loadAddress, registers, ProtectedModeSetup.Write(memory));
    }

    private static ulong AlignUp(ulong value) => (value + Layout.PageSize - 1) & ~(Layout.PageSize - 1);
}
