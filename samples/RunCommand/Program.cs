// Boots Ember's default guest (Debian's cloud kernel and an initramfs Ember builds), runs a command in it and
// prints what it printed: dotnet run --project samples/RunCommand -- uname -a
using Ember.Vmm.Host;
using Ember.Vmm.Images;
using Ember.Vmm.Machine;

bool softwareKvm = KvmHostReport.DetectFlavour("/sys/module") == KvmFlavour.SoftwarePvm;
var image = DefaultGuestImage.Build(new GuestImageOptions { SoftwareKvm = softwareKvm });
string[] command = args.Length > 0 ? args : ["uname", "-a"];
var config = new MachineConfig
{
    KernelPath = image.KernelPath,
    InitrdPath = image.InitrdPath,
    CommandLine = $"{image.CommandLine} {GuestCommand.ToKernelArgument(command)}",
    CpuidMask = image.CpuidMask,
};
await using var vm = await MicroVm.StartAsync(config);
await vm.Console!.CopyToAsync(Console.OpenStandardOutput());
var exit = await vm.Exited;
if (exit.Reason is not (MachineStopReason.PowerOff or MachineStopReason.DebugExit))
    Console.Error.WriteLine($"the machine stopped: {exit.Reason}: {exit.Message}");
return exit.ExitCode;
