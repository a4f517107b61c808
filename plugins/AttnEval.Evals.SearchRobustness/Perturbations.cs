using System.Text;
using System.Text.RegularExpressions;

namespace AttnEval.Evals.SearchRobustness;

/// <summary>A passage in a result list as the agent sees it.</summary>
/// <param name="DocId">Corpus id (a counterfactual copy gets <c>{gold id}~cf</c>).</param>
/// <param name="Title">Title.</param>
/// <param name="Text">Text (possibly truncated or rewritten by a perturbation).</param>
/// <param name="Score">BM25 score from the index (0 for injected passages).</param>
/// <param name="IsGold">True for a gold passage of the question.</param>
/// <param name="Injected">Null for a retrieved passage, else <c>distractor</c>, <c>counterfactual</c> or <c>noise</c>.</param>
internal sealed record ResultPassage(string DocId, string Title, string Text, double Score, bool IsGold, string? Injected = null)
{
    /// <summary>A retrieved passage; it is gold only when it is a gold passage of the episode's own question
    /// <paramref name="qid"/> (a corpus-wide search can return another question's gold passage, which is not).</summary>
    public static ResultPassage From(SearchHit hit, string? qid) =>
        new(hit.Document.DocId, hit.Document.Title, hit.Document.Text, hit.Score, hit.Document.IsGold && (qid is null || hit.Document.SourceQid == qid));

    /// <summary>An injected corpus passage; never gold for the episode's question, whatever it was for its own.</summary>
    public static ResultPassage Inject(CorpusDocument d, string kind) => new(d.DocId, d.Title, d.Text, 0, IsGold: false, kind);
}

/// <summary>
/// The perturbation operations of specs/head-methods.md §4.2.2, each a deterministic function of its inputs and a seeded
/// <see cref="Random"/>. Each returns the perturbed value and appends a one-line description to <c>log</c> when given.
/// </summary>
internal static partial class Perturbations
{
    private static readonly string[] KeyboardRows = ["qwertyuiop", "asdfghjkl", "zxcvbnm"];

    /// <summary>Q-TYPO: each word whose letters number ≥ 4 is hit with probability <paramref name="rate"/> by one of: swap
    /// of two adjacent letters, deletion of a letter, insertion of a random letter, replacement by a QWERTY neighbour
    /// (chosen uniformly). Punctuation around words and spacing are kept.</summary>
    public static string Typo(string question, double rate, Random rng, List<string>? log = null)
    {
        var sb = new StringBuilder();
        foreach (Match m in WordOrGap().Matches(question))
        {
            var w = m.Value;
            if (w.Length < 4 || !w.All(char.IsLetter) || rng.NextDouble() >= rate) { sb.Append(w); continue; }
            int op = rng.Next(4), i = rng.Next(w.Length);
            string t = op switch
            {
                0 => Swap(w, Math.Min(i, w.Length - 2)),
                1 => w.Remove(i, 1),
                2 => w.Insert(i, ((char)('a' + rng.Next(26))).ToString()),
                _ => w[..i] + Neighbour(w[i], rng) + w[(i + 1)..],
            };
            log?.Add($"typo {(op switch { 0 => "swap", 1 => "delete", 2 => "insert", _ => "neighbour" })}: {w} -> {t}");
            sb.Append(t);
        }
        return sb.ToString();

        static string Swap(string w, int i) => w[..i] + w[i + 1] + w[i] + w[(i + 2)..];
    }

    private static char Neighbour(char c, Random rng)
    {
        bool upper = char.IsUpper(c);
        char lc = char.ToLowerInvariant(c);
        for (int r = 0; r < KeyboardRows.Length; r++)
        {
            int j = KeyboardRows[r].IndexOf(lc);
            if (j < 0) continue;
            var options = new List<char>();
            if (j > 0) options.Add(KeyboardRows[r][j - 1]);
            if (j + 1 < KeyboardRows[r].Length) options.Add(KeyboardRows[r][j + 1]);
            char n = options[rng.Next(options.Count)];
            return upper ? char.ToUpperInvariant(n) : n;
        }
        return c;
    }

    /// <summary>Q-REDUND: adds <paramref name="clause"/> before or after the question, separated by one space.</summary>
    public static string Redundant(string question, string clause, string position, List<string>? log = null)
    {
        log?.Add($"redundant clause {position}: {clause}");
        return position == "before" ? clause + " " + question : question + " " + clause;
    }

    /// <summary>S-DROP: with probability <paramref name="p"/>, removes one term (white-space token) that is not a stop word,
    /// chosen uniformly; a query with a single term, or with no non-stop-word term, is left alone.</summary>
    public static string DropTerm(string query, double p, Func<string, bool> isStopWord, Random rng, List<string>? log = null)
    {
        var words = query.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (rng.NextDouble() >= p) return query;
        var candidates = Enumerable.Range(0, words.Length).Where(i => !isStopWord(words[i])).ToList();
        if (words.Length < 2 || candidates.Count == 0) { log?.Add($"drop: nothing droppable in '{query}'"); return query; }
        int k = candidates[rng.Next(candidates.Count)];
        log?.Add($"drop term: {words[k]}");
        return string.Join(' ', words.Where((_, i) => i != k));
    }

    /// <summary>S-SYN: replaces up to <paramref name="terms"/> words found in <paramref name="synonyms"/> (lower-case keys)
    /// by a synonym (both chosen uniformly).</summary>
    public static string Synonym(string query, IReadOnlyDictionary<string, string[]> synonyms, int terms, Random rng, List<string>? log = null)
    {
        var words = query.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        var slots = Enumerable.Range(0, words.Count).Where(i => synonyms.ContainsKey(Core(words[i]).ToLowerInvariant())).ToList();
        for (int n = 0; n < terms && slots.Count > 0; n++)
        {
            int s = rng.Next(slots.Count), i = slots[s];
            slots.RemoveAt(s);
            var core = Core(words[i]);
            var options = synonyms[core.ToLowerInvariant()];
            var syn = options[rng.Next(options.Length)];
            log?.Add($"synonym: {core} -> {syn}");
            words[i] = words[i].Replace(core, syn, StringComparison.Ordinal);
        }
        if (terms > 0 && log is not null && !log.Any(l => l.StartsWith("synonym", StringComparison.Ordinal))) log.Add($"synonym: no known term in '{query}'");
        return string.Join(' ', words);
    }

    /// <summary>S-ENT: with probability <paramref name="p"/>, replaces one entity span of the query (a code such as
    /// <c>K03</c>, or a run of capitalised words) by the most string-similar different entity of the same type in
    /// <paramref name="lexicon"/> (least normalised edit distance; ties chosen uniformly).</summary>
    public static string Entity(string query, IReadOnlyList<string> lexicon, double p, Random rng, List<string>? log = null)
    {
        if (rng.NextDouble() >= p) return query;
        var spans = EntitySpans(query).ToList();
        if (spans.Count == 0) { log?.Add($"entity: none in '{query}'"); return query; }
        var (start, length) = spans[rng.Next(spans.Count)];
        var entity = query.Substring(start, length);
        bool code = IsCode(entity);
        var candidates = lexicon.Where(e => e != entity && IsCode(e) == code).Distinct(StringComparer.Ordinal).ToList();
        if (candidates.Count == 0) { log?.Add($"entity: no replacement for {entity}"); return query; }
        var scored = candidates.Select(c => (c, d: AnswerText.NormalizedEditDistance(entity, c))).ToList();
        var best = scored.Min(x => x.d);
        var ties = scored.Where(x => x.d == best).Select(x => x.c).Order(StringComparer.Ordinal).ToList();
        var replacement = ties[rng.Next(ties.Count)];
        log?.Add($"entity: {entity} -> {replacement}");
        return query[..start] + replacement + query[(start + length)..];
    }

    /// <summary>The entity spans of a text: codes (a capital letter followed by letters/digits with at least one digit)
    /// and runs of capitalised words (the first word of the text excluded when alone).</summary>
    public static IEnumerable<(int Start, int Length)> EntitySpans(string text)
    {
        foreach (Match m in EntityPattern().Matches(text))
        {
            if (m.Index == 0 && !m.Value.Contains(' ') && !IsCode(m.Value)) continue; // sentence-initial word
            yield return (m.Index, m.Length);
        }
    }

    /// <summary>Every distinct entity span in a set of texts, in ordinal order (the S-ENT lexicon).</summary>
    public static IReadOnlyList<string> EntityLexicon(IEnumerable<string> texts) =>
        texts.SelectMany(t => EntitySpans(t).Select(s => t.Substring(s.Start, s.Length))).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    private static bool IsCode(string s) => s.Any(char.IsDigit);

    private static string Core(string word) => word.Trim('.', ',', '?', '!', ';', ':', '"', '\'', '(', ')');

    /// <summary>R-DISTR: puts <paramref name="negatives"/> (hard negatives: passages without the gold answer, not gold)
    /// at the top, at the bottom or interleaved after each retrieved passage, keeping the list at <paramref name="k"/>
    /// passages by dropping the lowest-ranked retrieved ones.</summary>
    public static List<ResultPassage> Distract(IReadOnlyList<ResultPassage> results, IReadOnlyList<ResultPassage> negatives, string position, int k, List<string>? log = null)
    {
        var keep = results.Take(Math.Max(0, k - negatives.Count)).ToList();
        List<ResultPassage> list = position switch
        {
            "top" => [.. negatives, .. keep],
            "bottom" => [.. keep, .. negatives],
            _ => Interleave(keep, negatives),
        };
        log?.Add($"distractors {position}: {string.Join(", ", negatives.Select(n => n.DocId))}");
        return list.Take(k).ToList();

        static List<ResultPassage> Interleave(List<ResultPassage> a, IReadOnlyList<ResultPassage> b)
        {
            var r = new List<ResultPassage>();
            for (int i = 0; i < Math.Max(a.Count, b.Count); i++)
            {
                if (i < a.Count) r.Add(a[i]);
                if (i < b.Count) r.Add(b[i]);
            }
            return r;
        }
    }

    /// <summary>R-MISLEAD: a copy of the gold passage with every occurrence of the gold answer (case-insensitive, whole
    /// words) replaced by <paramref name="substitute"/>, put at rank 1; the list keeps <paramref name="k"/> passages.</summary>
    public static List<ResultPassage> Mislead(IReadOnlyList<ResultPassage> results, CorpusDocument gold, string goldAnswer, string substitute, int k, List<string>? log = null)
    {
        var pattern = new Regex(@"(?<!\w)" + Regex.Escape(goldAnswer.Trim()) + @"(?!\w)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
        var cf = new ResultPassage(gold.DocId + "~cf", pattern.Replace(gold.Title, substitute), pattern.Replace(gold.Text, substitute), 0, false, "counterfactual");
        log?.Add($"counterfactual of {gold.DocId}: {goldAnswer} -> {substitute}");
        return [.. new[] { cf }.Concat(results).Take(k)];
    }

    /// <summary>R-NOISE (replace): <paramref name="m"/> passages at uniformly chosen ranks are replaced by the given random
    /// corpus passages, in order.</summary>
    public static List<ResultPassage> Noise(IReadOnlyList<ResultPassage> results, IReadOnlyList<ResultPassage> random, int m, Random rng, List<string>? log = null)
    {
        var list = results.ToList();
        var ranks = Enumerable.Range(0, list.Count).ToList();
        for (int n = 0; n < Math.Min(m, Math.Min(list.Count, random.Count)); n++)
        {
            int s = rng.Next(ranks.Count), i = ranks[s];
            ranks.RemoveAt(s);
            log?.Add($"noise at rank {i + 1}: {list[i].DocId} -> {random[n].DocId}");
            list[i] = random[n];
        }
        return list;
    }

    /// <summary>R-NOISE (truncate): keeps the first ⌈x/100 · n⌉ white-space tokens of each passage's text.</summary>
    public static List<ResultPassage> Truncate(IReadOnlyList<ResultPassage> results, int percent, List<string>? log = null)
    {
        log?.Add($"truncate to {percent}%");
        return results.Select(r =>
        {
            var words = r.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int keep = (int)Math.Ceiling(words.Length * percent / 100.0);
            return r with { Text = string.Join(' ', words.Take(keep)) };
        }).ToList();
    }

    /// <summary>R-DROPGOLD: removes every gold passage.</summary>
    public static List<ResultPassage> DropGold(IReadOnlyList<ResultPassage> results, List<string>? log = null)
    {
        var gone = results.Where(r => r.IsGold).Select(r => r.DocId).ToList();
        log?.Add(gone.Count == 0 ? "drop gold: none in results" : $"drop gold: {string.Join(", ", gone)}");
        return results.Where(r => !r.IsGold).ToList();
    }

    /// <summary>R-SHUF: a uniformly random permutation (Fisher–Yates with <paramref name="rng"/>).</summary>
    public static List<ResultPassage> Shuffle(IReadOnlyList<ResultPassage> results, Random rng, List<string>? log = null)
    {
        var list = results.ToList();
        for (int i = list.Count - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
        log?.Add($"shuffle: {string.Join(", ", list.Select(r => r.DocId))}");
        return list;
    }

    [GeneratedRegex(@"\p{L}+|[^\p{L}]+")]
    private static partial Regex WordOrGap();

    [GeneratedRegex(@"\b[A-Z][A-Za-z0-9]*\d[A-Za-z0-9]*\b|\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*\b")]
    private static partial Regex EntityPattern();
}
