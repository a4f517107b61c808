namespace AttnEval.Abstractions;

/// <summary>Sentence similarity (e.g. cosine of sentence embeddings), used by SAR and semantic estimators.</summary>
public interface ISentenceSimilarity
{
    /// <summary>Name of the model.</summary>
    string Name { get; }
    /// <summary>Similarity of two texts, in [-1, 1] (cosine) or [0, 1] (probability), stated by the implementation.</summary>
    double Similarity(string a, string b);

    /// <summary>The similarity of <paramref name="reference"/> to each of <paramref name="others"/> (element i equals
    /// <c>Similarity(reference, others[i])</c>), so that a model can embed them in batches: TokenSAR compares an answer with
    /// each of its one-token-removed variants (uq-methods §2.1). The default calls <see cref="Similarity"/> for each.
    /// Added in contract 1.3.</summary>
    IReadOnlyList<double> Similarities(string reference, IReadOnlyList<string> others)
    {
        ArgumentNullException.ThrowIfNull(others);
        var result = new double[others.Count];
        for (int i = 0; i < others.Count; i++) result[i] = Similarity(reference, others[i]);
        return result;
    }
}
