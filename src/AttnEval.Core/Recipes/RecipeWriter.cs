using System.Collections;
using AttnEval.Abstractions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace AttnEval.Core.Recipes;

/// <summary>
/// Writes the canonical YAML of a <see cref="Recipe"/> with YamlDotNet's emitter: sections in schema order,
/// keys of option maps and free-form maps sorted ordinally, every default written, absent optional values
/// left out (except <c>dataset.target: null</c>, which means "no target"), strings quoted whenever a plain
/// scalar would read back as another type, reals always written with a '.' or an exponent, '\n' line ends.
/// </summary>
internal sealed class RecipeWriter
{
    private readonly Emitter _emitter;

    private RecipeWriter(TextWriter writer) =>
        _emitter = new Emitter(writer, new EmitterSettings().WithNewLine("\n").WithBestWidth(10_000));

    public static string Write(Recipe recipe)
    {
        var text = new StringWriter { NewLine = "\n" };
        new RecipeWriter(text).WriteRecipe(recipe);
        return text.ToString();
    }

    private void WriteRecipe(Recipe r)
    {
        _emitter.Emit(new StreamStart());
        _emitter.Emit(new DocumentStart());
        BeginMap();

        Key("name"); Str(r.Name);
        Key("kind"); Str(r.Kind);
        if (r.Description is not null) { Key("description"); Str(r.Description); }

        Key("model"); BeginMap();
        Key("path"); Str(r.Model.Path);
        Key("backend"); Str(r.Model.Backend);
        Key("device"); Str(r.Model.Device);
        Key("dtype"); Str(r.Model.DType);
        if (r.Model.Tokenizer is not null) { Key("tokenizer"); Str(r.Model.Tokenizer); }
        if (r.Model.Options.Count > 0)
        {
            Key("options"); BeginMap();
            foreach (var (k, v) in r.Model.Options.OrderBy(p => p.Key, StringComparer.Ordinal)) { Key(k); Str(v); }
            EndMap();
        }
        EndMap();

        if (r.Dataset is { } d)
        {
            Key("dataset"); BeginMap();
            Key("path"); Str(d.Path);
            if (d.Format is not null) { Key("format"); Str(d.Format); }
            Key("input"); Str(d.Input);
            Key("target"); if (d.Target is null) Null(); else Str(d.Target);
            if (d.Id is not null) { Key("id"); Str(d.Id); }
            if (d.Limit is { } limit) { Key("limit"); Raw(RecipeNumbers.Format(limit)); }
            Key("seed"); Raw(RecipeNumbers.Format(d.Seed));
            Key("shuffle"); Raw(d.Shuffle ? "true" : "false");
            EndMap();
        }

        Key("prompt"); BeginMap();
        Key("template"); Str(r.Prompt.Template);
        Key("chat"); Str(r.Prompt.Chat.ToRecipeName());
        if (r.Prompt.System is not null) { Key("system"); Str(r.Prompt.System); }
        EndMap();

        var g = r.Generation;
        Key("generation"); BeginMap();
        Key("max_new_tokens"); Raw(RecipeNumbers.Format(g.MaxNewTokens));
        Key("temperature"); Raw(RecipeNumbers.Format(g.Temperature));
        Key("top_p"); Raw(RecipeNumbers.Format(g.TopP));
        Key("top_k"); Raw(RecipeNumbers.Format(g.TopK));
        Key("seed"); Raw(RecipeNumbers.Format(g.Seed));
        Key("samples"); Raw(RecipeNumbers.Format(g.Samples));
        Key("sample_temperature"); Raw(RecipeNumbers.Format(g.SampleTemperature));
        Key("stop"); Value(g.Stop);
        Key("batch_size"); Raw(RecipeNumbers.Format(g.BatchSize));
        EndMap();

        if (r.Judge is { } j)
        {
            Key("judge"); BeginMap();
            Key("kind"); Str(j.Kind);
            foreach (var (k, v) in Sorted(j.Options.Values)) { Key(k); Value(v); }
            EndMap();
        }

        Key("metrics"); BeginSeq();
        foreach (var m in r.Metrics)
        {
            BeginMap();
            Key("name"); Str(m.Name);
            foreach (var (k, v) in Sorted(m.Options.Values)) { Key(k); Value(v); }
            EndMap();
        }
        EndSeq();

        var e = r.Evaluation;
        Key("evaluation"); BeginMap();
        Key("metrics"); Value(e.Metrics);
        Key("bootstrap"); Raw(RecipeNumbers.Format(e.Bootstrap));
        Key("confidence_level"); Raw(RecipeNumbers.Format(e.ConfidenceLevel));
        Key("ece_bins"); Raw(RecipeNumbers.Format(e.EceBins));
        Key("seed"); Raw(RecipeNumbers.Format(e.Seed));
        // Written only when not the default, so recipes (and run folders) from before the key existed keep their hash.
        if (e.Ties != Evaluation.TieBreaking.Expected) { Key("ties"); Str(RecipeNames.TieBreakingName(e.Ties)); }
        if (e.Interval != Evaluation.IntervalMethod.Centered) { Key("interval"); Str(RecipeNames.IntervalName(e.Interval)); }
        EndMap();

        if (r.Analysis.Count > 0) { Key("analysis"); Value(r.Analysis); }

        Key("output"); BeginMap();
        Key("dir"); Str(r.OutputDir);
        EndMap();

        EndMap();
        _emitter.Emit(new DocumentEnd(true));
        _emitter.Emit(new StreamEnd());
    }

    private static IEnumerable<KeyValuePair<string, object?>> Sorted(IReadOnlyDictionary<string, object?> map) =>
        map.Where(p => p.Value is not null).OrderBy(p => p.Key, StringComparer.Ordinal);

    private void Value(object? value)
    {
        switch (value)
        {
            case null: Null(); break;
            case string s: Str(s); break;
            case bool b: Raw(b ? "true" : "false"); break;
            case long or int or short or sbyte or byte or ushort or uint:
                Raw(RecipeNumbers.Format(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture))); break;
            case double or float or decimal:
                Raw(RecipeNumbers.Format(Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture))); break;
            case OptionValues o: Value(o.Values); break;
            case IReadOnlyDictionary<string, object?> map:
                BeginMap();
                foreach (var (k, v) in map.OrderBy(p => p.Key, StringComparer.Ordinal)) { Key(k); Value(v); }
                EndMap();
                break;
            case IEnumerable list:
                BeginSeq();
                foreach (var item in list) Value(item);
                EndSeq();
                break;
            default:
                Str(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "");
                break;
        }
    }

    private void BeginMap() => _emitter.Emit(new MappingStart(AnchorName.Empty, TagName.Empty, true, MappingStyle.Block));
    private void EndMap() => _emitter.Emit(new MappingEnd());
    private void BeginSeq() => _emitter.Emit(new SequenceStart(AnchorName.Empty, TagName.Empty, true, SequenceStyle.Block));
    private void EndSeq() => _emitter.Emit(new SequenceEnd());
    private void Key(string key) => Str(key);
    private void Null() => Raw("null");

    /// <summary>A plain scalar whose text is already canonical (numbers, booleans, null).</summary>
    private void Raw(string text) =>
        _emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, text, ScalarStyle.Plain, true, false));

    /// <summary>True when a literal block keeps the text exactly: no leading/trailing blanks or line breaks,
    /// no trailing blanks on any line, no tabs or carriage returns.</summary>
    private static bool SafeForLiteral(string text) =>
        !char.IsWhiteSpace(text[0]) && !char.IsWhiteSpace(text[^1]) && !text.Contains('\t') && !text.Contains('\r') &&
        !text.Contains(" \n", StringComparison.Ordinal);

    /// <summary>A string: double-quoted when plain text would read back as null/bool/number (or is empty),
    /// literal block when it spans lines and <see cref="SafeForLiteral"/> holds (else double-quoted), otherwise the emitter's choice (plain or quoted).</summary>
    private void Str(string text)
    {
        var style = text.Length == 0 || YScalar.LooksTyped(text) ? ScalarStyle.DoubleQuoted
            : text.Contains('\n') ? (SafeForLiteral(text) ? ScalarStyle.Literal : ScalarStyle.DoubleQuoted)
            : ScalarStyle.Any;
        _emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, text, style, style is ScalarStyle.Any or ScalarStyle.Literal, true));
    }
}
