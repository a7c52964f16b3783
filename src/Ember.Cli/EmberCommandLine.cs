using System.CommandLine;
using Ember.Vmm.Host;

namespace Ember.Cli;

/// <summary>The `ember` command tree. Each subcommand's action returns the process exit code.</summary>
internal static class EmberCommandLine
{
    public static RootCommand Build()
    {
        var root = new RootCommand("Ember: a microVM monitor for Linux KVM, in .NET.");
        root.Subcommands.Add(BuildDoctor());
        root.Subcommands.Add(RunCommand.Build());
        root.Subcommands.Add(ImageCommand.Build());
        FirecrackerMode.AddTo(root);
        return root;
    }

    private static Command BuildDoctor()
    {
        var device = new Option<string>("--device") { Description = "Path of the KVM device.", DefaultValueFactory = _ => "/dev/kvm" };
        var command = new Command("doctor", "Report whether this host can run Ember: KVM version, hardware or software KVM, capabilities.");
        command.Options.Add(device);
        command.SetAction(result =>
        {
            var report = KvmHostReport.Probe(result.GetValue(device)!);
            Console.WriteLine(report.Render());
            return report.DeviceUsable && !report.MissingRequired.Any() ? ExitStatus.Success : ExitStatus.CheckFailed;
        });
        return command;
    }
}
