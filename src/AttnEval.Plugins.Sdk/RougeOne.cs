using AttnEval.Abstractions;
using Lucene.Net.Tartarus.Snowball.Ext;

namespace AttnEval.Plugins.Sdk;

/// <summary>
/// ROUGE-1 recall with Porter stemming, the success filter of the retrieval-head protocol (specs/head-methods.md §1.1:
/// a trial counts when recall ×100 &gt; 50), on the contract's shared <see cref="Rouge"/> implementation. Tokens are
/// Unicode-aware (NFKC, invariant lower-case, runs of letters with their combining marks and digits of any script; CJK one
/// per character), so on ASCII text they equal the <c>rouge_score</c> package's and a non-Latin needle can succeed (the
/// reference tokenizer keeps only a–z and 0–9, so such a needle failed every trial); ASCII tokens longer than 3 characters
/// are stemmed (Porter, through Lucene.Net's Snowball port), as <c>rouge_score</c> with <c>use_stemmer=True</c>.
/// </summary>
public static class RougeOne
{
    /// <summary>Recall in [0, 1]: clipped unigram overlap / number of reference unigrams; 0 when the reference has none.</summary>
    /// <param name="reference">The reference text (<c>real_needle</c>).</param>
    /// <param name="prediction">The model's response.</param>
    public static double Recall(string reference, string prediction) => Rouge.OneRecall(Tokens(reference), Tokens(prediction));

    /// <summary>The normalised, stemmed tokens of a text.</summary>
    public static IReadOnlyList<string> Tokens(string text)
    {
        var stemmer = new PorterStemmer();
        return Rouge.Tokens(text, w =>
        {
            stemmer.SetCurrent(w);
            stemmer.Stem();
            return stemmer.Current;
        });
    }
}
