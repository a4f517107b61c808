using System.Reflection;
using AttnEval.Abstractions;
using McMaster.NETCore.Plugins;
using Microsoft.Extensions.DependencyInjection;

namespace AttnEval.Core.Plugins;

/// <summary>What one plugin folder provided.</summary>
/// <param name="Name">Plugin name (<see cref="IAttnEvalPlugin.Name"/>).</param>
/// <param name="Version">Informational version of the plugin assembly.</param>
/// <param name="Folder">Full path of the plugin folder.</param>
/// <param name="Exports">The named parts it registered.</param>
public sealed record PluginInfo(string Name, string Version, string Folder, IReadOnlyList<PluginExport> Exports);

/// <summary>One named part exported by a plugin.</summary>
/// <param name="Name">Name used in recipes.</param>
/// <param name="Kind"><c>backend</c>, <c>sample-estimator</c>, <c>head-analysis</c>, <c>data-scorer</c>, <c>agent-evaluation</c>, <c>judge</c>,
/// <c>similarity</c> or <c>recipe-kind</c>.</param>
/// <param name="Description">One line.</param>
/// <param name="Cost">For a sample estimator with its default options, what it adds to greedy generation, from its
/// <see cref="MetricNeeds"/> (e.g. <c>attention rows + extra forward passes</c>); each run measures it as
/// <c>summary.json</c> <c>cost</c>. Empty for other kinds.</param>
public sealed record PluginExport(string Name, string Kind, string Description, string Cost = "");

/// <summary>A plugin folder that could not be loaded; the other plugins still load.</summary>
/// <param name="Folder">Full path of the folder.</param>
/// <param name="Message">One line: what was wrong and what was expected.</param>
public sealed record PluginLoadError(string Folder, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Folder}: {Message}";
}

/// <summary>
/// Loads plugins with McMaster.NETCore.Plugins (one load context per folder, the contract
/// <c>AttnEval.Abstractions</c> and <c>IServiceCollection</c> shared with the host), lets each
/// <see cref="IAttnEvalPlugin"/> register its exports, and builds the <see cref="IComponentCatalog"/>.
/// </summary>
/// <remarks>
/// Layout: <c>&lt;plugins-dir&gt;/&lt;Name&gt;/&lt;Name&gt;.dll</c> plus its dependencies. A folder with no such
/// dll, a plugin built against another contract major version or a newer contract (or dependency-injection
/// abstractions) than the host's — "built against AttnEval.Abstractions 1.2, host has 1.1" — a type that fails to load, or a plugin
/// whose registration throws each produce one <see cref="PluginLoadError"/>; loading goes on.
/// Plugins are not unloadable (native libraries such as libtorch stay mapped anyway).
/// </remarks>
public sealed class PluginHost : IDisposable
{
    private readonly List<PluginLoader> _loaders = [];
    private readonly List<PluginInfo> _plugins = [];
    private readonly List<PluginLoadError> _errors = [];
    private readonly IServiceCollection _services = new ServiceCollection();
    private readonly Dictionary<string, string> _owners = new(StringComparer.Ordinal);
    /// <summary>The plugin that registered each recipe kind, by kind name.</summary>
    private readonly Dictionary<string, string> _kindPlugins = new(StringComparer.Ordinal);
    private ServiceProvider? _provider;

    /// <summary>Plugins loaded so far.</summary>
    public IReadOnlyList<PluginInfo> Plugins => _plugins;

    /// <summary>Folders that failed to load.</summary>
    public IReadOnlyList<PluginLoadError> Errors => _errors;

    /// <summary>The host's own parts (built-in judges), registered before any plugin; the first call also lists the built-in recipe
    /// kinds (<see cref="Kinds.BuiltInKinds"/>) among its exports.</summary>
    public PluginHost AddBuiltIn(string name, Action<IServiceCollection> configure)
    {
        var services = new ServiceCollection();
        configure(services);
        Register(name, typeof(PluginHost).Assembly, "(built-in)", services);
        // The host's own recipe kinds are listed with its other built-in parts (once, under the first built-in registration).
        if (!_plugins.Any(p => p.Exports.Any(x => x.Kind == "recipe-kind" && p.Folder == "(built-in)")))
        {
            var info = _plugins[^1];
            _plugins[^1] = info with { Exports = [.. info.Exports, .. Kinds.BuiltInKinds.All.Select(k => new PluginExport(k.Name, "recipe-kind", k.Description))] };
        }
        return this;
    }

    /// <summary>Loads every plugin folder under each directory that exists.</summary>
    public PluginHost LoadFrom(IEnumerable<string> pluginDirectories)
    {
        foreach (var dir in pluginDirectories.Select(Path.GetFullPath).Distinct())
        {
            if (!Directory.Exists(dir)) continue;
            foreach (var folder in Directory.GetDirectories(dir).Order(StringComparer.Ordinal))
                LoadFolder(folder);
        }
        return this;
    }

    /// <summary>Loads one plugin folder; returns false (and records an error) when it cannot.</summary>
    public bool LoadFolder(string folder)
    {
        folder = Path.GetFullPath(folder);
        var name = Path.GetFileName(folder);
        var dll = Path.Combine(folder, name + ".dll");
        if (!File.Exists(dll))
            return Fail(folder, $"no plugin in this folder: expected {name}.dll (a plugin folder holds <Name>/<Name>.dll)");

        PluginLoader loader;
        Assembly assembly;
        try
        {
            loader = PluginLoader.CreateFromAssemblyFile(dll,
                sharedTypes: [typeof(IAttnEvalPlugin), typeof(IServiceCollection)],
                configure: c => c.PreferSharedTypes = true);
            assembly = loader.LoadDefaultAssembly();
        }
        catch (Exception e) when (e is BadImageFormatException or FileLoadException or FileNotFoundException)
        {
            return Fail(folder, $"{name}.dll is not a loadable .NET assembly: {e.Message}");
        }
        _loaders.Add(loader);

        var references = assembly.GetReferencedAssemblies();
        var contract = references.FirstOrDefault(a => a.Name == typeof(IAttnEvalPlugin).Assembly.GetName().Name);
        if (contract is null)
            return Fail(folder, $"{name}.dll does not reference AttnEval.Abstractions: not an AttnEval plugin");
        if (contract.Version is { } v && v.Major != ContractVersion.Major)
            return Fail(folder, $"{name}.dll was built against AttnEval.Abstractions {v.Major}.x but this host provides {ContractVersion.Major}.x; rebuild the plugin against contract {ContractVersion.Major}.x");
        // A shared assembly (the contract, IServiceCollection's) newer than the host's cannot bind to the host's copy: the
        // plugin's types would fail to load, or come from a private copy the host does not see. Say which versions differ.
        foreach (var shared in SharedAssemblies)
        {
            var host = shared.GetName();
            var wanted = references.FirstOrDefault(a => a.Name == host.Name);
            if (wanted?.Version is { } w && host.Version is { } h && w > h)
                return Fail(folder, $"{name}.dll was built against {host.Name} {Short(w, h)}, host has {Short(h, w)}: " +
                                    $"run it with an AttnEval whose {(shared == typeof(IAttnEvalPlugin).Assembly ? "contract" : host.Name)} is {Short(w, h)} or later, or rebuild it against {Short(h, w)}");
        }

        Type[] types;
        try
        {
            types = assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            var first = e.LoaderExceptions.FirstOrDefault(x => x is not null);
            return Fail(folder, $"a type in {name}.dll failed to load: {first?.Message ?? e.Message}");
        }

        var entryTypes = types.Where(t => typeof(IAttnEvalPlugin).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false }).ToList();
        if (entryTypes.Count == 0)
            return Fail(folder, $"{name}.dll has no public class implementing IAttnEvalPlugin");

        var version = VersionOf(assembly);
        foreach (var type in entryTypes)
        {
            var services = new ServiceCollection();
            IAttnEvalPlugin plugin;
            try
            {
                plugin = (IAttnEvalPlugin)Activator.CreateInstance(type)!;
                plugin.ConfigureServices(services);
            }
            catch (Exception e)
            {
                var inner = e is TargetInvocationException { InnerException: { } ie } ? ie : e;
                Fail(folder, $"plugin {type.FullName} failed to register: {inner.GetType().Name}: {inner.Message}");
                continue;
            }
            Register(plugin.Name, assembly, folder, services, version);
        }
        return true;
    }

    private void Register(string pluginName, Assembly assembly, string folder, ServiceCollection services, string? version = null)
    {
        if (_provider is not null) throw new InvalidOperationException("plugins cannot be added after the catalog was built");
        var exports = new List<PluginExport>();
        var kindNames = new List<string>();
        using (var probe = services.BuildServiceProvider())
        {
            // Create each registration once to learn its name (GetService would only return the last one per
            // service type); a duplicate name is refused, the first plugin wins.
            foreach (var d in services.ToList())
            {
                object? instance;
                try
                {
                    instance = d.ImplementationInstance
                               ?? (d.ImplementationFactory is { } f ? f(probe)
                                   : d.ImplementationType is { } t ? ActivatorUtilities.CreateInstance(probe, t) : null);
                }
                catch (Exception e) { Fail(folder, $"{pluginName}: cannot create {d.ServiceType.Name}: {e.Message}"); services.Remove(d); continue; }
                var export = Describe(instance);
                if (export is null) continue;
                var key = export.Kind + ":" + export.Name;
                if (instance is IRecipeKind && Kinds.BuiltInKinds.All.Any(k => k.Name == export.Name))
                {
                    Fail(folder, $"{pluginName}: recipe kind '{export.Name}' is built into the host; ignored");
                    services.Remove(d);
                    continue;
                }
                if (_owners.TryGetValue(key, out var owner))
                {
                    Fail(folder, $"{pluginName}: {export.Kind} '{export.Name}' is already provided by {owner}; ignored");
                    services.Remove(d);
                    continue;
                }
                _owners[key] = pluginName;
                exports.Add(export);
                if (d.ServiceType == typeof(IRecipeKind))
                    kindNames.Add(export.Name);
            }
        }
        foreach (var d in services) _services.Add(d);
        foreach (var k in kindNames) _kindPlugins[k] = pluginName;
        _plugins.Add(new PluginInfo(pluginName, version ?? VersionOf(assembly), folder, exports));
    }

    /// <summary>The assemblies whose types the host shares with every plugin (one copy, the host's).</summary>
    private static readonly Assembly[] SharedAssemblies = [typeof(IAttnEvalPlugin).Assembly, typeof(IServiceCollection).Assembly];

    /// <summary>"1.2" for 1.2.0.0, with as many more parts as it takes to tell <paramref name="v"/> from <paramref name="other"/>.</summary>
    private static string Short(Version v, Version other) =>
        v.Major != other.Major || v.Minor != other.Minor ? v.ToString(2)
        : v.Build != other.Build ? v.ToString(3)
        : v.ToString(4);

    private static string VersionOf(Assembly assembly) =>
        assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0]
        ?? assembly.GetName().Version?.ToString() ?? "?";

    private static PluginExport? Describe(object? instance) => instance switch
    {
        IModelBackend b => new PluginExport(b.Name, "backend", ""),
        ISampleEstimatorFactory m => new PluginExport(m.Name, "sample-estimator", m.Description, CostOf(m)),
        IHeadAnalysisFactory m => new PluginExport(m.Name, "head-analysis", m.Description),
        IDataScorerFactory m => new PluginExport(m.Name, "data-scorer", m.Description),
        IAgentEvaluationFactory m => new PluginExport(m.Name, "agent-evaluation", m.Description),
        IJudgeFactory j => new PluginExport(j.Name, "judge", j.Description),
        ISentenceSimilarity s => new PluginExport(s.Name, "similarity", "sentence similarity for estimators that need one (SAR, semantic estimators)"),
        IRecipeKind k => new PluginExport(k.Name, "recipe-kind", k.Description),
        _ => null,
    };

    /// <summary>What an estimator adds to greedy generation, read from the <see cref="MetricNeeds"/> of an instance with default
    /// options ("needs options" when it has required ones).</summary>
    internal static string CostOf(ISampleEstimatorFactory factory)
    {
        MetricNeeds needs;
        try { needs = factory.Create(new OptionValues(factory.Options.ToDictionary(o => o.Key, o => o.Default))).Needs; }
        catch (Exception) { return "needs options"; }   // required options without defaults (or a plugin that refuses them)
        var parts = new List<string>();
        if (needs.HasFlag(MetricNeeds.AttentionRows)) parts.Add("attention rows");
        if (needs.HasFlag(MetricNeeds.SampledAnswers)) parts.Add("sampled answers");
        if (needs.HasFlag(MetricNeeds.SentenceSimilarity)) parts.Add("sentence similarity");
        if (needs.HasFlag(MetricNeeds.ModelCalls)) parts.Add("extra forward passes");
        return parts.Count == 0 ? "none (answer log-probs)" : string.Join(" + ", parts);
    }

    private bool Fail(string folder, string message)
    {
        _errors.Add(new PluginLoadError(folder, message));
        return false;
    }

    /// <summary>The service provider with everything registered (built on first use).</summary>
    public IServiceProvider Services => _provider ??= _services.BuildServiceProvider();

    /// <summary>The catalog of backends, metrics, judges, sentence-similarity models and recipe kinds (built-in and plugins').</summary>
    public IComponentCatalog Catalog => _catalog ??= new ComponentCatalog(
        Services.GetServices<ISampleEstimatorFactory>().Cast<IMetricFactory>()
            .Concat(Services.GetServices<IHeadAnalysisFactory>())
            .Concat(Services.GetServices<IDataScorerFactory>())
            .Concat(Services.GetServices<IAgentEvaluationFactory>()),
        Services.GetServices<IJudgeFactory>(),
        Services.GetServices<IModelBackend>(),
        Services.GetServices<ISentenceSimilarity>(),
        Services.GetServices<IRecipeKind>().Select(k => new Kinds.PluginRecipeKind(k, _kindPlugins.GetValueOrDefault(k.Name, "?"))));
    private IComponentCatalog? _catalog;

    /// <summary>Default plugin directories: <c>$ATTNEVAL_PLUGINS</c> (path-separated list) if set, else
    /// <c>plugins/</c> beside the host (a published host and the installed tool, whose package carries the built-in plugins
    /// there) and <c>../plugins/</c> (the build layout artifacts/&lt;cfg&gt;/{attneval,plugins}).</summary>
    public static IReadOnlyList<string> DefaultDirectories()
    {
        var env = Environment.GetEnvironmentVariable("ATTNEVAL_PLUGINS");
        if (!string.IsNullOrWhiteSpace(env))
            return env.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var baseDir = AppContext.BaseDirectory;
        return [Path.Combine(baseDir, "plugins"), Path.GetFullPath(Path.Combine(baseDir, "..", "plugins"))];
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _provider?.Dispose();
        foreach (var l in _loaders) l.Dispose();
    }
}
