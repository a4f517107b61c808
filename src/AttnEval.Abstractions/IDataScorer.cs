namespace AttnEval.Abstractions;

/// <summary>A per-document scorer (AttentionInfluence). The host scores documents in batches (<see cref="ScoreBatch"/>) and
/// records each one as soon as its batch is done, so a run resumes per document.</summary>
public interface IDataScorer
{
    /// <summary>One-time preparation on the model (e.g. detecting retrieval heads); called before the first document.</summary>
    void Prepare(ILanguageModel model, string outputDirectory, CancellationToken cancellationToken = default);

    /// <summary>Scores one document; higher = more valuable. <see cref="SampleEstimate.Uncertainty"/> carries the score;
    /// a string <c>group</c> entry in <see cref="SampleEstimate.Details"/> names the document's selection group (e.g. its domain).</summary>
    SampleEstimate Score(ILanguageModel model, Sample document, CancellationToken cancellationToken = default);

    /// <summary>Scores several documents (element i for <c>documents[i]</c>), so that a scorer can batch its model calls
    /// across documents (AttentionInfluence scores every chunk of a batch in one <see cref="ILanguageModel.ScoreBatch"/>
    /// without and one with its heads masked). Must give what <see cref="Score"/> gives for each. When it throws, the host
    /// calls <see cref="Score"/> for each document, so an error costs only its document; a scorer must therefore not keep
    /// state from a batch that throws. The default calls <see cref="Score"/> for each. Added in contract 1.4.</summary>
    IReadOnlyList<SampleEstimate> ScoreBatch(ILanguageModel model, IReadOnlyList<Sample> documents, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(documents);
        return documents.Select(d => Score(model, d, cancellationToken)).ToList();
    }

    /// <summary>Chooses the selected subset once every document is scored (e.g. the top 20 % per domain, Hua et al. 2025 §3).
    /// Called once at the end of a run, including a resumed one, with every scored document of the run; the host then writes
    /// the selected documents. The default selects nothing. Added in contract 1.x (additive, default implementation).</summary>
    /// <param name="scored">Every successfully scored document: id, group (or null) and score.</param>
    /// <param name="outputDirectory">The run folder, for extra files.</param>
    DataSelection Select(IReadOnlyList<ScoredDocument> scored, string outputDirectory) => DataSelection.None;
}
