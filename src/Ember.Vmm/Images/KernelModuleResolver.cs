namespace Ember.Vmm.Images;

/// <summary>
/// Works out which module files to insmod, and in which order, for a set of module names, from a
/// kernel's modules directory (/usr/lib/modules/&lt;release&gt;).
/// <para>
/// modules.dep (written by depmod(8), format in modules.dep(5)) has one line per module:
/// "kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko ... kernel/drivers/virtio/virtio_ring.ko",
/// the path relative to the modules directory, then every module it needs, transitively. modprobe
/// loads that list from the end. Rather than trust the order, this walks each dependency's own line
/// depth-first (visiting a list from its end, so the result matches modprobe's where depmod's order
/// is consistent) and emits a module after everything it needs.
/// </para>
/// <para>
/// modules.builtin lists, in the same path form, the modules compiled into the kernel. Requesting
/// one of those is not an error: it is reported in <see cref="ModuleResolution.BuiltIn"/>, since a
/// kernel configuration may build in drivers (virtio_blk, virtio_net, ...) that another has as modules.
/// </para>
/// Names compare as the kernel compares them: '-' and '_' are the same (virtio-rng.ko is virtio_rng).
/// </summary>
public sealed class KernelModuleResolver
{
    public const string DependencyFileName = "modules.dep";
    public const string BuiltinFileName = "modules.builtin";

    private static readonly (string Extension, KernelModuleCompression Compression)[] ModuleExtensions =
    [
        (".ko", KernelModuleCompression.None),
        (".ko.xz", KernelModuleCompression.Xz),
        (".ko.zst", KernelModuleCompression.Zstd),
        (".ko.gz", KernelModuleCompression.Gzip),
    ];

    private readonly Dictionary<string, string[]> _dependenciesByPath;
    private readonly Dictionary<string, string> _pathByName;
    private readonly HashSet<string> _builtinNames;

    private KernelModuleResolver(string modulesDirectory, Dictionary<string, string[]> dependenciesByPath, Dictionary<string, string> pathByName, HashSet<string> builtinNames)
    {
        ModulesDirectory = modulesDirectory;
        _dependenciesByPath = dependenciesByPath;
        _pathByName = pathByName;
        _builtinNames = builtinNames;
    }

    /// <summary>The directory modules.dep lives in, e.g. /usr/lib/modules/6.1.0-56-cloud-amd64.</summary>
    public string ModulesDirectory { get; }

    /// <summary>The kernel release the directory is named after (what `uname -r` prints in the guest).</summary>
    public string KernelRelease => Path.GetFileName(ModulesDirectory);

    /// <summary>Number of loadable modules modules.dep describes.</summary>
    public int ModuleCount => _pathByName.Count;

    /// <summary>Reads modules.dep (required) and modules.builtin (optional: a kernel without built-in modules has none).</summary>
    public static KernelModuleResolver Load(string modulesDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(modulesDirectory);
        var directory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(modulesDirectory));
        var depPath = Path.Combine(directory, DependencyFileName);
        if (!File.Exists(depPath))
            throw new GuestImageException($"'{depPath}' does not exist: not a kernel modules directory, or depmod has not been run for it (try `depmod {Path.GetFileName(directory)}`).");

        var dependenciesByPath = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var pathByName = new Dictionary<string, string>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var rawLine in File.ReadLines(depPath))
        {
            lineNumber++;
            var line = rawLine.Trim();
            if (line.Length == 0 || line[0] == '#')
                continue;
            var colon = line.IndexOf(':');
            if (colon <= 0)
                throw new GuestImageException($"{depPath}:{lineNumber}: expected 'module.ko: dependencies...'.");
            var path = ToRelativePath(directory, line[..colon].Trim(), depPath, lineNumber);
            var dependencies = line[(colon + 1)..]
                .Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(d => ToRelativePath(directory, d, depPath, lineNumber))
                .ToArray();
            // With override directories ("updates/", "extra/") a name could appear twice; the first
            // line wins, as depmod writes the module it chose by search priority.
            if (dependenciesByPath.TryAdd(path, dependencies))
                pathByName.TryAdd(NormalizeName(path), path);
        }

        var builtinNames = new HashSet<string>(StringComparer.Ordinal);
        var builtinPath = Path.Combine(directory, BuiltinFileName);
        if (File.Exists(builtinPath))
        {
            foreach (var rawLine in File.ReadLines(builtinPath))
            {
                var line = rawLine.Trim();
                if (line.Length != 0 && line[0] != '#')
                    builtinNames.Add(NormalizeName(line));
            }
        }
        return new KernelModuleResolver(directory, dependenciesByPath, pathByName, builtinNames);
    }

    /// <summary>
    /// The modules to load for <paramref name="moduleNames"/>, dependencies first, each once, in a
    /// deterministic order; built-in ones are reported, not loaded. Any name that is neither in
    /// modules.dep nor built in, a dependency cycle, or a listed file missing on disk is an error.
    /// </summary>
    public ModuleResolution Resolve(IEnumerable<string> moduleNames)
    {
        ArgumentNullException.ThrowIfNull(moduleNames);
        var order = new List<KernelModule>();
        var state = new Dictionary<string, bool>(StringComparer.Ordinal); // false: being visited, true: emitted
        var builtIn = new List<string>();
        var missing = new List<string>();
        foreach (var requested in moduleNames)
        {
            var name = NormalizeName(requested);
            if (_pathByName.TryGetValue(name, out var path))
                Visit(path, state, order, requestedBy: name);
            else if (_builtinNames.Contains(name))
            {
                if (!builtIn.Contains(name))
                    builtIn.Add(name);
            }
            else if (!missing.Contains(requested))
                missing.Add(requested);
        }
        if (missing.Count > 0)
        {
            throw new GuestImageException(
                $"Kernel module(s) {string.Join(", ", missing)} not found in {Path.Combine(ModulesDirectory, DependencyFileName)} " +
                $"nor built in ({BuiltinFileName}); is this the right kernel, and is its modules package installed?");
        }
        return new ModuleResolution(order, builtIn);
    }

    /// <summary>
    /// The kernel's name for a module given as a name, file name or path: the file name without its
    /// .ko extension, with '-' as '_' (kmod compares names that way; the kernel itself stores them so).
    /// </summary>
    public static string NormalizeName(string nameOrPath)
    {
        ArgumentNullException.ThrowIfNull(nameOrPath);
        var name = nameOrPath[(nameOrPath.LastIndexOf('/') + 1)..];
        foreach (var (extension, _) in ModuleExtensions)
        {
            if (name.EndsWith(extension, StringComparison.Ordinal))
            {
                name = name[..^extension.Length];
                break;
            }
        }
        return name.Replace('-', '_');
    }

    /// <summary>The compression a module path's extension implies; anything not ending in a known module extension is an error.</summary>
    public static KernelModuleCompression CompressionOf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        foreach (var (extension, compression) in ModuleExtensions)
        {
            if (path.EndsWith(extension, StringComparison.Ordinal))
                return compression;
        }
        throw new GuestImageException($"'{path}' is not a kernel module file (.ko, .ko.xz, .ko.zst or .ko.gz).");
    }

    private void Visit(string path, Dictionary<string, bool> state, List<KernelModule> order, string requestedBy)
    {
        if (state.TryGetValue(path, out var emitted))
        {
            if (!emitted)
                throw new GuestImageException($"{DependencyFileName} has a dependency cycle through '{path}' (while resolving {requestedBy}).");
            return;
        }
        state[path] = false;
        // A dependency without a line of its own is taken as needing nothing further.
        var dependencies = _dependenciesByPath.GetValueOrDefault(path) ?? [];
        for (var i = dependencies.Length - 1; i >= 0; i--)
            Visit(dependencies[i], state, order, requestedBy);
        state[path] = true;

        var fullPath = Path.Combine(ModulesDirectory, path);
        if (!File.Exists(fullPath))
            throw new GuestImageException($"{DependencyFileName} lists '{path}' (needed for {requestedBy}) but '{fullPath}' does not exist; reinstall the kernel package or rerun depmod.");
        _ = CompressionOf(path);
        order.Add(new KernelModule(NormalizeName(path), path, fullPath, dependencies));
    }

    /// <summary>
    /// modules.dep paths are relative to the modules directory; old depmods wrote absolute ones,
    /// which are accepted when they lie inside it. Anything escaping the directory is refused: the
    /// file's bytes go into the guest image.
    /// </summary>
    private static string ToRelativePath(string directory, string path, string depPath, int lineNumber)
    {
        var relative = path;
        if (Path.IsPathRooted(path))
        {
            var prefix = directory + "/";
            if (!path.StartsWith(prefix, StringComparison.Ordinal))
                throw new GuestImageException($"{depPath}:{lineNumber}: '{path}' lies outside {directory}.");
            relative = path[prefix.Length..];
        }
        if (relative.Split('/').Any(c => c is "" or "." or ".."))
            throw new GuestImageException($"{depPath}:{lineNumber}: '{path}' is not a plain relative path.");
        return relative;
    }
}
