using AttnEval.Abstractions;

namespace AttnEval.Core.Plugins;

/// <summary>The named parts known to the host (built-in and from plugins), used to validate recipes
/// before any model is loaded.</summary>
public interface IComponentCatalog
{
    /// <summary>Metric factories by recipe name.</summary>
    IReadOnlyDictionary<string, IMetricFactory> Metrics { get; }
    /// <summary>Judge factories by recipe name (<c>judge.kind</c>).</summary>
    IReadOnlyDictionary<string, IJudgeFactory> Judges { get; }
    /// <summary>Model backends by name (<c>model.backend</c>).</summary>
    IReadOnlyDictionary<string, IModelBackend> Backends { get; }
}

/// <summary>A fixed catalog, for tests and for hosts that assemble parts by hand.</summary>
public sealed class ComponentCatalog : IComponentCatalog
{
    /// <summary>Creates a catalog from the given parts (names must be unique per kind).</summary>
    public ComponentCatalog(IEnumerable<IMetricFactory> metrics, IEnumerable<IJudgeFactory> judges, IEnumerable<IModelBackend> backends)
    {
        Metrics = metrics.ToDictionary(m => m.Name, StringComparer.Ordinal);
        Judges = judges.ToDictionary(j => j.Name, StringComparer.Ordinal);
        Backends = backends.ToDictionary(b => b.Name, StringComparer.Ordinal);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IMetricFactory> Metrics { get; }
    /// <inheritdoc />
    public IReadOnlyDictionary<string, IJudgeFactory> Judges { get; }
    /// <inheritdoc />
    public IReadOnlyDictionary<string, IModelBackend> Backends { get; }
}
