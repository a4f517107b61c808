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
    /// <summary>Sentence-similarity models by <see cref="ISentenceSimilarity.Name"/> (e.g. <c>all-MiniLM-L6-v2</c>), handed to
    /// estimators that declare <see cref="MetricNeeds.SentenceSimilarity"/>; empty when no similarity plugin is installed.</summary>
    IReadOnlyDictionary<string, ISentenceSimilarity> Similarities => EmptySimilarities;

    /// <summary>The sentence-similarity model a run uses: the only one installed, else the ordinally first name; null when none.</summary>
    ISentenceSimilarity? DefaultSimilarity => Similarities.Count == 0 ? null : Similarities[Similarities.Keys.Order(StringComparer.Ordinal).First()];

    private static readonly IReadOnlyDictionary<string, ISentenceSimilarity> EmptySimilarities = new Dictionary<string, ISentenceSimilarity>();
}

/// <summary>A fixed catalog, for tests and for hosts that assemble parts by hand.</summary>
public sealed class ComponentCatalog : IComponentCatalog
{
    /// <summary>Creates a catalog from the given parts (names must be unique per kind).</summary>
    public ComponentCatalog(IEnumerable<IMetricFactory> metrics, IEnumerable<IJudgeFactory> judges, IEnumerable<IModelBackend> backends,
        IEnumerable<ISentenceSimilarity>? similarities = null)
    {
        Metrics = metrics.ToDictionary(m => m.Name, StringComparer.Ordinal);
        Judges = judges.ToDictionary(j => j.Name, StringComparer.Ordinal);
        Backends = backends.ToDictionary(b => b.Name, StringComparer.Ordinal);
        Similarities = (similarities ?? []).ToDictionary(s => s.Name, StringComparer.Ordinal);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IMetricFactory> Metrics { get; }
    /// <inheritdoc />
    public IReadOnlyDictionary<string, IJudgeFactory> Judges { get; }
    /// <inheritdoc />
    public IReadOnlyDictionary<string, IModelBackend> Backends { get; }
    /// <inheritdoc />
    public IReadOnlyDictionary<string, ISentenceSimilarity> Similarities { get; }
}
