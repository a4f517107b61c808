using AttnEval.Abstractions;
using AttnEval.Core.Kinds;

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

    /// <summary>Recipe kinds by recipe name (<c>kind:</c>): the built-in ones (<see cref="BuiltInKinds"/>) and those plugins bring
    /// (<see cref="IRecipeKind"/>). The recipe loader checks a recipe against its kind's descriptor and <c>attneval run</c> runs it
    /// through the same descriptor. Default: the built-in kinds.</summary>
    IReadOnlyDictionary<string, RecipeKindDescriptor> Kinds => BuiltInKindTable;

    private static readonly IReadOnlyDictionary<string, ISentenceSimilarity> EmptySimilarities = new Dictionary<string, ISentenceSimilarity>();

    /// <summary>The built-in kinds by name.</summary>
    internal static readonly IReadOnlyDictionary<string, RecipeKindDescriptor> BuiltInKindTable = BuiltInKinds.All.ToDictionary(k => k.Name, StringComparer.Ordinal);
}

/// <summary>A fixed catalog, for tests and for hosts that assemble parts by hand.</summary>
public sealed class ComponentCatalog : IComponentCatalog
{
    /// <summary>Creates a catalog from the given parts (names must be unique per kind).</summary>
    /// <param name="metrics">Metric factories.</param>
    /// <param name="judges">Judge factories.</param>
    /// <param name="backends">Model backends.</param>
    /// <param name="similarities">Sentence-similarity models; null = none.</param>
    /// <param name="kinds">Recipe kinds besides the built-in ones (a name a built-in kind has is an <see cref="ArgumentException"/>); null = none.</param>
    /// <exception cref="ArgumentException">Two parts of one sort share a name.</exception>
    public ComponentCatalog(IEnumerable<IMetricFactory> metrics, IEnumerable<IJudgeFactory> judges, IEnumerable<IModelBackend> backends,
        IEnumerable<ISentenceSimilarity>? similarities = null, IEnumerable<RecipeKindDescriptor>? kinds = null)
    {
        var table = BuiltInKinds.All.ToDictionary(k => k.Name, StringComparer.Ordinal);
        foreach (var k in kinds ?? [])
            if (!table.TryAdd(k.Name, k))
                throw new ArgumentException($"recipe kind '{k.Name}' of {k.Owner} is already provided by {table[k.Name].Owner}", nameof(kinds));
        Kinds = table;
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
    /// <inheritdoc />
    public IReadOnlyDictionary<string, RecipeKindDescriptor> Kinds { get; }
}
