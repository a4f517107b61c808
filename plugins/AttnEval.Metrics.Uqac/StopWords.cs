namespace AttnEval.Metrics.Uqac;

/// <summary>
/// Tokens that never join an attention chain (specs/uq-methods.md §1.5): the classic English stop-word list (the same
/// 174 words as UQAC's <c>src/utils/macro.py</c>, with contractions in both ' and ’ spellings), the empty string (so
/// whitespace-only tokens are blocked) and the punctuation characters <c>. , ! ? ; : ' " “ ” ‘ ’ ( ) [ ] { } _ … \ @ ~ `</c>.
/// A token is compared after removing all whitespace and lower-casing.
/// </summary>
internal static class StopWords
{
    private const string Words =
        "a about above after again against all am an and any are aren't as at be because been before being below between both but by " +
        "can't cannot could couldn't did didn't do does doesn't doing don't down during each few for from further had hadn't has hasn't " +
        "have haven't having he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm i've if in into is " +
        "isn't it it's its itself let's me more most mustn't my myself no nor not of off on once only or other ought our ours ourselves " +
        "out over own same shan't she she'd she'll she's should shouldn't so some such than that that's the their theirs them themselves " +
        "then there there's these they they'd they'll they're they've this those through to too under until up very was wasn't we we'd " +
        "we'll we're we've were weren't what what's when when's where where's which while who who's whom why why's with won't would " +
        "wouldn't you you'd you'll you're you've your yours yourself yourselves";

    private const string Punctuation = ".,!?;:'\"“”‘’()[]{}_…\\@~`";

    /// <summary>The blocked strings (lower case, no whitespace).</summary>
    public static IReadOnlySet<string> All { get; } = Build();

    /// <summary>True when the token text, with all whitespace removed and lower-cased, is blocked.</summary>
    public static bool IsBlocked(string tokenText)
    {
        var key = string.Concat(tokenText.Where(c => !char.IsWhiteSpace(c))).ToLowerInvariant();
        return All.Contains(key);
    }

    private static HashSet<string> Build()
    {
        var set = new HashSet<string>(StringComparer.Ordinal) { "" };
        foreach (var w in Words.Split(' '))
        {
            set.Add(w);
            set.Add(w.Replace('\'', '’'));
        }
        foreach (var c in Punctuation) set.Add(c.ToString());
        return set;
    }
}
