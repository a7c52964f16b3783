using System.Globalization;
using Ember.Vmm.Machine;

namespace Ember.Bench.GuestVirtio;

/// <summary>The command line: which modes and workloads, how many rounds, how long each loop (or fixed counts).</summary>
internal sealed record BenchOptions
{
    public const string Usage =
        "usage: Ember.Bench.GuestVirtio [--modes split,kernel,userspace] [--rounds 3] [--seconds 3] [--only blk|net]\n" +
        "                               [--blk-count N] [--blk64-count N] [--net-count N] [--commit SHA]";

    public IReadOnlyList<IrqchipMode> Modes { get; init; } = [IrqchipMode.Split, IrqchipMode.Kernel, IrqchipMode.Userspace];
    public int Rounds { get; init; } = 3;
    public double Seconds { get; init; } = 3;
    public bool Block { get; init; } = true;
    public bool Net { get; init; } = true;
    public uint? BlockCount { get; init; }
    public uint? Block64Count { get; init; }
    public uint? NetCount { get; init; }
    public string? Commit { get; init; }

    /// <summary>The options, or null and a one-line reason.</summary>
    public static BenchOptions? Parse(string[] args, out string? error)
    {
        var options = new BenchOptions();
        error = null;
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (i + 1 >= args.Length)
            {
                error = $"{name} needs a value";
                return null;
            }
            string value = args[++i];
            switch (name)
            {
                case "--modes":
                    var modes = new List<IrqchipMode>();
                    foreach (string mode in value.Split(',', StringSplitOptions.RemoveEmptyEntries))
                    {
                        if (!Enum.TryParse<IrqchipMode>(mode, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
                        {
                            error = $"unknown irqchip mode '{mode}' (split, kernel, userspace)";
                            return null;
                        }
                        modes.Add(parsed);
                    }
                    options = options with { Modes = modes };
                    break;
                case "--rounds" when int.TryParse(value, CultureInfo.InvariantCulture, out int rounds) && rounds > 0:
                    options = options with { Rounds = rounds };
                    break;
                case "--seconds" when double.TryParse(value, CultureInfo.InvariantCulture, out double seconds) && seconds > 0:
                    options = options with { Seconds = seconds };
                    break;
                case "--only" when value is "blk" or "net":
                    options = options with { Block = value == "blk", Net = value == "net" };
                    break;
                case "--blk-count" when uint.TryParse(value, CultureInfo.InvariantCulture, out uint count) && count > 0:
                    options = options with { BlockCount = count };
                    break;
                case "--blk64-count" when uint.TryParse(value, CultureInfo.InvariantCulture, out uint count) && count > 0:
                    options = options with { Block64Count = count };
                    break;
                case "--net-count" when uint.TryParse(value, CultureInfo.InvariantCulture, out uint count) && count > 0:
                    options = options with { NetCount = count };
                    break;
                case "--commit":
                    options = options with { Commit = value };
                    break;
                default:
                    error = $"bad option {name} {value}";
                    return null;
            }
        }
        if (options.Modes.Count == 0)
        {
            error = "--modes names no mode";
            return null;
        }
        return options;
    }
}
