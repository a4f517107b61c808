using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using static AttnEval.Metrics.ReasoningRhythm.Svg;

namespace AttnEval.Metrics.ReasoningRhythm;

/// <summary>The HTML fragment of a finished <c>reasoning-rhythm</c> run, built from <c>summary.json</c> and the records alone.</summary>
internal static class RhythmReport
{
    private const string WaadColor = "#1f77b4", FaiColor = "#d62728", EntropyColor = "#999999";

    /// <summary>Paper values (Qwen3-4B-Base, GSM8K, T = 0.7, 70 questions; head-methods §5.1), for orientation only.</summary>
    private static readonly Dictionary<string, string> Paper = new()
    {
        ["entropy_at_waad_peaks"] = "0.361 vs 0.239 (+52 %)",
        ["next_entropy_at_waad_peaks"] = "—",
        ["fai_peak_follows_waad_peak"] = "53 % vs 37 %",
    };

    public static string Render(RecipeKindReport report)
    {
        var summary = (JsonObject)JsonNode.Parse(report.Summary.ToJsonString())!;   // element-backed numbers throughout
        var result = summary["result"] as JsonObject ?? new JsonObject();
        var sb = new StringBuilder();

        sb.Append("<section><h2>Couplings</h2>");
        if (summary["conclusion"] is JsonValue conclusion) sb.Append("<p class=\"verdict\">").Append(Enc(conclusion.ToString())).Append("</p>");
        if (summary["warning"] is JsonValue warning) sb.Append("<p class=\"note\">").Append(Enc(warning.ToString())).Append("</p>");
        sb.Append("<table class=\"data\"><thead><tr><th>coupling</th><th>observed</th><th>random</th><th>lift</th><th>n</th><th>n random</th><th>paper (Qwen3-4B, GSM8K)</th></tr></thead><tbody>");
        if (result["couplings"] is JsonObject couplings)
            foreach (var (key, node) in couplings)
            {
                if (node is not JsonObject row) continue;
                sb.Append("<tr><td>").Append(Enc(key)).Append("<br><span class=\"note\">").Append(Enc(Str(row["description"]))).Append("</span></td>");
                sb.Append("<td class=\"num\">").Append(Num(row["observed"])).Append("</td><td class=\"num\">").Append(Num(row["random"])).Append("</td>");
                sb.Append("<td class=\"num\">").Append(Enc(ReasoningRhythmKind.Pct(Dbl(row["lift"])))).Append("</td>");
                sb.Append("<td class=\"num\">").Append(Num(row["n"])).Append("</td><td class=\"num\">").Append(Num(row["random_n"])).Append("</td>");
                sb.Append("<td>").Append(Enc(Paper.GetValueOrDefault(key, "—"))).Append("</td></tr>");
            }
        sb.Append("</tbody></table>");
        if (result["not_measured"] is JsonArray notMeasured)
            foreach (var n in notMeasured) sb.Append("<p class=\"note\">Not measured: ").Append(Enc(Str(n))).Append("</p>");
        sb.Append("</section>");

        var options = result["options"] as JsonObject ?? new JsonObject();
        sb.Append("<section><h2>Settings</h2><table class=\"data\"><tbody>");
        foreach (var (key, node) in options)
            sb.Append("<tr><th>").Append(Enc(key)).Append("</th><td>").Append(Enc(node is null ? "null" : node is JsonValue v ? v.ToString() : node.ToJsonString())).Append("</td></tr>");
        sb.Append("</tbody></table></section>");

        if (result["head_groups"] is JsonObject groups)
        {
            var local = groups["local"] as JsonObject ?? new JsonObject();
            var global = groups["global"] as JsonObject ?? new JsonObject();
            var heads = local.Select(kv => kv.Key).Concat(global.Select(kv => kv.Key)).Distinct()
                .OrderBy(h => HeadId.TryParse(h, out var id) ? id : default).ToList();
            sb.Append("<section><h2>Head groups</h2><p class=\"note\">How many answers put each sampled head in H_loc (lowest mean backward distance; WAAD) and H_glob (highest; FAI).</p>");
            sb.Append("<table class=\"data\"><thead><tr><th>head</th><th>in H_loc</th><th>in H_glob</th></tr></thead><tbody>");
            foreach (var h in heads)
                sb.Append("<tr><td>").Append(Enc(h)).Append("</td><td class=\"num\">").Append(Num(local[h])).Append("</td><td class=\"num\">").Append(Num(global[h])).Append("</td></tr>");
            sb.Append("</tbody></table></section>");
        }

        int show = options["report_items"] is JsonValue ri && ri.TryGetValue<int>(out var r) ? r : 20;
        var items = new List<RhythmItem>();
        var bad = new List<string>();
        foreach (var rec in report.Records)
        {
            try { items.Add(RhythmItem.FromJson(rec)); }
            catch (InvalidDataException e) { bad.Add(e.Message); }
        }
        var ok = items.Where(i => i.Error is null).ToList();
        sb.Append("<section><h2>Answers</h2>");
        sb.Append(CultureInfo.InvariantCulture, $"<p class=\"note\">WAAD (blue, local heads), FAI (red dashed, global heads; gaps where the horizon is empty) and token entropy (grey), each scaled to its own maximum; dots mark peaks. Showing {Math.Min(show, ok.Count)} of {ok.Count} answers.</p>");
        foreach (var item in ok.Take(show))
        {
            var labels = item.Tokens;
            var chart = LineChart(
            [
                new ChartSeries("WAAD", WaadColor, item.Waad.Select(v => (double?)v).ToList(), item.WaadPeaks),
                new ChartSeries("FAI", FaiColor, item.Fai, item.FaiPeaks, Dashed: true),
                new ChartSeries("entropy", EntropyColor, item.Entropy.Select(v => (double?)v).ToList(), []),
            ], labels, $"WAAD and FAI of {item.Id}");
            string top = string.Join(" ", item.TopFai.Take(8).Select(i => $"{i}:«{Visible(i < labels.Count ? labels[i] : "")}»"));
            sb.Append("<div class=\"item\"><h3>").Append(Enc(item.Id)).Append("</h3>");
            sb.Append("<p class=\"note\" style=\"white-space:pre-wrap\">").Append(Enc(item.Response)).Append("</p>");
            sb.Append(chart);
            sb.Append("<p class=\"note\">H_loc ").Append(Enc(string.Join(", ", item.HeadsLocal))).Append("; H_glob ").Append(Enc(string.Join(", ", item.HeadsGlobal)))
              .Append("; top FAI ").Append(Enc(top.Length == 0 ? "none" : top)).Append("</p></div>");
        }
        var failed = items.Where(i => i.Error is not null).Select(i => $"{i.Id}: {i.Error}").Concat(bad).ToList();
        if (failed.Count > 0)
        {
            sb.Append("<h3>Failed items</h3><ul>");
            foreach (var f in failed) sb.Append("<li>").Append(Enc(f)).Append("</li>");
            sb.Append("</ul>");
        }
        sb.Append("</section>");
        return sb.ToString();
    }

    private static string Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : n?.ToJsonString() ?? "";
    private static double? Dbl(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;
    private static string Num(JsonNode? n) => n is JsonValue v
        ? v.TryGetValue<double>(out var d) ? d == Math.Floor(d) && Math.Abs(d) < 1e9 ? d.ToString("0", CultureInfo.InvariantCulture) : ReasoningRhythmKind.F(d) : Enc(v.ToString())
        : n is null ? "—" : Enc(n.ToJsonString());
}
