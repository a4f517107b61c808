using System.Text;
using Lucene.Net.Tartarus.Snowball.Ext;

namespace AttnEval.Metrics.RetrievalHeads;

/// <summary>
/// ROUGE-1 recall with Porter stemming, the success filter of the retrieval-head protocol (specs/head-methods.md §1.1:
/// a trial counts when recall ×100 &gt; 50). Tokenisation follows the <c>rouge_score</c> package's default: lower-case,
/// every character other than a–z and 0–9 is a separator, and tokens longer than 3 characters are stemmed (Porter, through
/// Lucene.Net's Snowball port).
/// </summary>
public static class RougeOne
{
    /// <summary>Recall in [0, 1]: clipped unigram overlap / number of reference unigrams; 0 when the reference has none.</summary>
    /// <param name="reference">The reference text (<c>real_needle</c>).</param>
    /// <param name="prediction">The model's response.</param>
    public static double Recall(string reference, string prediction)
    {
        var refTokens = Tokens(reference);
        if (refTokens.Count == 0) return 0;
        var counts = Tokens(prediction).GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        int overlap = 0;
        foreach (var g in refTokens.GroupBy(t => t))
            overlap += Math.Min(g.Count(), counts.GetValueOrDefault(g.Key));
        return (double)overlap / refTokens.Count;
    }

    /// <summary>The normalised, stemmed tokens of a text.</summary>
    public static IReadOnlyList<string> Tokens(string text)
    {
        var list = new List<string>();
        var sb = new StringBuilder();
        var stemmer = new PorterStemmer();
        void Flush()
        {
            if (sb.Length == 0) return;
            var w = sb.ToString();
            sb.Clear();
            if (w.Length > 3)
            {
                stemmer.SetCurrent(w);
                stemmer.Stem();
                w = stemmer.Current;
            }
            list.Add(w);
        }
        foreach (var ch in text.ToLowerInvariant())
        {
            if (ch is >= 'a' and <= 'z' or >= '0' and <= '9') sb.Append(ch);
            else Flush();
        }
        Flush();
        return list;
    }
}
