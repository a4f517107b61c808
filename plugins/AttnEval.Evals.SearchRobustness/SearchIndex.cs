using Lucene.Net.Analysis;
using Lucene.Net.Analysis.Core;
using Lucene.Net.Analysis.En;
using Lucene.Net.Analysis.Standard;
using Lucene.Net.Analysis.TokenAttributes;
using Lucene.Net.Documents;
using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Search.Similarities;
using Lucene.Net.Store;
using Lucene.Net.Util;

namespace AttnEval.Evals.SearchRobustness;

/// <summary>One ranked passage returned by <see cref="SearchIndex.Search"/>.</summary>
/// <param name="Document">The passage.</param>
/// <param name="Score">Its BM25 score (0 for a padding passage that matched no query term).</param>
/// <param name="Rank">1-based rank in the list.</param>
internal sealed record SearchHit(CorpusDocument Document, double Score, int Rank);

/// <summary>
/// An in-memory Lucene.Net index with BM25 ranking (specs/head-methods.md §4.2.1): analyzer = a pattern char filter that
/// turns <c>:</c>, <c>.</c> and <c>_</c> between two letters (and <c>_</c> between letters or digits) into a space, then
/// the standard tokenizer, lower case, English stop words, Porter stemmer — the same for documents and queries, so
/// "capital:france", "capital.france" and "capital_france" are the terms of "capital france" (the standard tokenizer's
/// UAX #29 rules keep such runs as one word, which matched nothing); numbers keep their dots ("3.14"); fields <c>title</c> and <c>text</c> with weight 1 each, a query matching a
/// document through either field adds both scores (Lucene's BM25 has no coordination factor). Lucene.Net's
/// <c>BM25Similarity</c>: <c>score(q, d) = Σ_{t∈q} idf(t) · (k1+1)·tf / (tf + k1·(1 − b + b·|d|/avgdl))</c> per field,
/// <c>idf(t) = ln(1 + (N − n_t + 0.5)/(n_t + 0.5))</c>, with |d| stored lossily (one byte per field; exact for 1, 4, 16, …
/// terms). Equal scores are ordered by <see cref="CorpusDocument.DocId"/> (documents are indexed in ordinal id order and
/// Lucene breaks ties by index order).
/// </summary>
internal sealed class SearchIndex : IDisposable
{
    private const LuceneVersion Version = LuceneVersion.LUCENE_48;
    private readonly RAMDirectory _directory = new();
    private readonly DirectoryReader _reader;
    private readonly IndexSearcher _searcher;
    private readonly Analyzer _analyzer = CreateAnalyzer();
    private readonly CorpusDocument[] _byLuceneId;
    private readonly Dictionary<string, List<CorpusDocument>> _byQid = new(StringComparer.Ordinal);

    /// <summary>Indexes <paramref name="documents"/>.</summary>
    /// <param name="documents">The corpus; ids must be unique.</param>
    /// <param name="k1">BM25 k1 (Lucene default 1.2; Anserini 0.9), &gt; 0.</param>
    /// <param name="b">BM25 b (Lucene default 0.75; Anserini 0.4), in [0, 1].</param>
    /// <exception cref="ArgumentException">Duplicate ids, an empty corpus, or k1/b out of range.</exception>
    public SearchIndex(IEnumerable<CorpusDocument> documents, double k1 = 1.2, double b = 0.75)
    {
        if (!(k1 > 0)) throw new ArgumentException($"BM25 k1 must be > 0 (got {k1})", nameof(k1));
        if (!(b >= 0 && b <= 1)) throw new ArgumentException($"BM25 b must be in [0, 1] (got {b})", nameof(b));
        K1 = k1; B = b;
        _byLuceneId = documents.OrderBy(d => d.DocId, StringComparer.Ordinal).ToArray();
        if (_byLuceneId.Length == 0) throw new ArgumentException("the search corpus is empty", nameof(documents));
        for (int i = 1; i < _byLuceneId.Length; i++)
            if (_byLuceneId[i].DocId == _byLuceneId[i - 1].DocId) throw new ArgumentException($"doc_id '{_byLuceneId[i].DocId}' appears twice in the corpus", nameof(documents));
        var similarity = new BM25Similarity((float)k1, (float)b);
        using (var writer = new IndexWriter(_directory, new IndexWriterConfig(Version, _analyzer) { Similarity = similarity }))
        {
            foreach (var d in _byLuceneId)
            {
                writer.AddDocument(new Document
                {
                    new StringField("doc_id", d.DocId, Field.Store.NO),
                    new StringField("qid", d.SourceQid ?? "", Field.Store.NO),
                    new TextField("title", d.Title, Field.Store.NO),
                    new TextField("text", d.Text, Field.Store.NO),
                });
                if (d.SourceQid is { } q) (_byQid.TryGetValue(q, out var l) ? l : _byQid[q] = []).Add(d);
            }
            writer.ForceMerge(1); // one segment: Lucene doc ids stay in insertion (= doc id) order
            writer.Commit();
        }
        _reader = DirectoryReader.Open(_directory);
        _searcher = new IndexSearcher(_reader) { Similarity = similarity };
    }

    /// <summary>BM25 k1 in use.</summary>
    public double K1 { get; }
    /// <summary>BM25 b in use.</summary>
    public double B { get; }
    /// <summary>Every document, in doc-id order.</summary>
    public IReadOnlyList<CorpusDocument> Documents => _byLuceneId;

    /// <summary>The documents bundled with one question (empty when none).</summary>
    public IReadOnlyList<CorpusDocument> ForQuestion(string qid) => _byQid.TryGetValue(qid, out var l) ? l : [];

    /// <summary>The analysed terms of a text (lower case, no stop words, Porter stems), in order.</summary>
    public IReadOnlyList<string> Terms(string text)
    {
        var terms = new List<string>();
        using var ts = _analyzer.GetTokenStream("text", new StringReader(text ?? ""));
        var term = ts.AddAttribute<ICharTermAttribute>();
        ts.Reset();
        while (ts.IncrementToken()) terms.Add(term.ToString());
        ts.End();
        return terms;
    }

    /// <summary>The top <paramref name="k"/> documents for <paramref name="query"/>.</summary>
    /// <param name="query">Free text; analysed like the documents (no query syntax).</param>
    /// <param name="k">Number of results, ≥ 1.</param>
    /// <param name="scopeQid">When set, only the documents bundled with that question are searched.</param>
    /// <param name="pad">When fewer than k documents match, fill up with the scope's unmatched documents in doc-id order (score 0).
    /// Only with <paramref name="scopeQid"/>.</param>
    /// <param name="exclude">Documents never returned (e.g. gold ones when looking for hard negatives).</param>
    /// <returns>At most k hits, best first; empty for a query without any indexable term (unless padded).</returns>
    public IReadOnlyList<SearchHit> Search(string query, int k, string? scopeQid = null, bool pad = false, Func<CorpusDocument, bool>? exclude = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var terms = Terms(query);
        var hits = new List<SearchHit>();
        if (terms.Count > 0)
        {
            var bq = new BooleanQuery();
            foreach (var t in terms)
            {
                bq.Add(new TermQuery(new Term("title", t)), Occur.SHOULD);
                bq.Add(new TermQuery(new Term("text", t)), Occur.SHOULD);
            }
            Filter? filter = scopeQid is null ? null : new QueryWrapperFilter(new TermQuery(new Term("qid", scopeQid)));
            int want = exclude is null ? k : _byLuceneId.Length;
            foreach (var sd in _searcher.Search(bq, filter, want).ScoreDocs)
            {
                var d = _byLuceneId[sd.Doc];
                if (exclude?.Invoke(d) == true) continue;
                hits.Add(new SearchHit(d, sd.Score, hits.Count + 1));
                if (hits.Count == k) break;
            }
        }
        if (pad && scopeQid is not null && hits.Count < k)
        {
            var seen = hits.Select(h => h.Document.DocId).ToHashSet(StringComparer.Ordinal);
            foreach (var d in ForQuestion(scopeQid))
            {
                if (hits.Count == k) break;
                if (seen.Contains(d.DocId) || exclude?.Invoke(d) == true) continue;
                hits.Add(new SearchHit(d, 0, hits.Count + 1));
            }
        }
        return hits;
    }

    /// <summary>Word joiners a user or agent writes between words ("capital:france", "capital.france", "capital_france"):
    /// <c>:</c> or <c>.</c> between two letters, <c>_</c> between two letters or digits. The neighbours are matched (not
    /// looked around) because Lucene.Net's <c>PatternReplaceCharFilter</c> re-applies the pattern to the matched text alone,
    /// where look-arounds see nothing; as a match consumes the following letter, a chain ("a.b.c") needs the filter twice.</summary>
    private static readonly System.Text.RegularExpressions.Regex WordJoiner =
        new(@"(\p{L})[:.](\p{L})|([\p{L}\p{N}])_([\p{L}\p{N}])", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    private const string WordJoinerReplacement = "$1$3 $2$4";

    private static Analyzer CreateAnalyzer() => Analyzer.NewAnonymous(
        (field, reader) =>
        {
            var source = new StandardTokenizer(Version, reader);
            TokenStream ts = new LowerCaseFilter(Version, source);
            ts = new StopFilter(Version, ts, EnglishAnalyzer.DefaultStopSet);
            ts = new PorterStemFilter(ts);
            return new TokenStreamComponents(source, ts);
        },
        // before tokenizing (documents and queries alike), word joiners become spaces; offsets are corrected by the filter
        (field, reader) => new Lucene.Net.Analysis.Pattern.PatternReplaceCharFilter(WordJoiner, WordJoinerReplacement,
            new Lucene.Net.Analysis.Pattern.PatternReplaceCharFilter(WordJoiner, WordJoinerReplacement, reader)));

    /// <inheritdoc />
    public void Dispose()
    {
        _reader.Dispose();
        _directory.Dispose();
        _analyzer.Dispose();
    }
}
