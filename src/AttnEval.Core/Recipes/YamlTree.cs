using System.Collections.Frozen;
using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace AttnEval.Core.Recipes;

/// <summary>Where a node was written: file, 1-based line and column (line 0 for <c>--set</c> values).</summary>
internal readonly record struct SourcePos(string File, int Line, int Column)
{
    public RecipeError Error(string message) => new(File, Line, Column, message);
}

/// <summary>A node of a recipe document with its position. Immutable; aliases may share nodes.</summary>
internal abstract record YNode(SourcePos Pos)
{
    /// <summary>Number of nodes in this subtree with aliases expanded (guards against alias bombs).</summary>
    public abstract long Size { get; }

    /// <summary>"a list", "a map" or the quoted scalar text, for error messages.</summary>
    public abstract string Describe();
}

/// <summary>A scalar. <see cref="Plain"/> is true for plain (unquoted, untagged-as-string) scalars, which may
/// resolve to null, booleans and numbers (YAML 1.2 core schema); quoted scalars are always strings.</summary>
internal sealed record YScalar(SourcePos Pos, string Value, bool Plain) : YNode(Pos)
{
    private static readonly Regex IntegerPattern = new(@"^[-+]?[0-9]+$", RegexOptions.CultureInvariant);
    private static readonly Regex NumberPattern = new(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant);
    private static readonly Regex Yaml11BooleanPattern = new(@"^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$", RegexOptions.CultureInvariant);
    private static readonly Regex SpecialNumberPattern = new(@"^([-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$", RegexOptions.CultureInvariant);

    public override long Size => 1;

    public override string Describe() => $"'{Value}'";

    /// <summary>True for a plain <c>null</c>, <c>~</c> or empty value.</summary>
    public bool IsNull => Plain && Value is "" or "~" or "null" or "Null" or "NULL";

    public bool TryInteger(out long value)
    {
        value = 0;
        return IntegerPattern.IsMatch(Value.Trim()) &&
               long.TryParse(Value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    public bool TryNumber(out double value)
    {
        value = 0;
        var text = Value.Trim();
        return NumberPattern.IsMatch(text) &&
               double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) &&
               double.IsFinite(value);
    }

    public bool TryBoolean(out bool value)
    {
        switch (Value.Trim())
        {
            case "true" or "True" or "TRUE": value = true; return true;
            case "false" or "False" or "FALSE": value = false; return true;
            default: value = false; return false;
        }
    }

    /// <summary>True when a plain scalar with this text would not be read back as a string, here or by a
    /// YAML 1.1 reader (<c>yes</c>, <c>off</c>, ...).</summary>
    public static bool LooksTyped(string text)
    {
        var s = new YScalar(default, text, true);
        return s.IsNull || s.TryBoolean(out _) || IntegerPattern.IsMatch(text) || NumberPattern.IsMatch(text) ||
               SpecialNumberPattern.IsMatch(text) || Yaml11BooleanPattern.IsMatch(text);
    }

    /// <summary>The plain-data value: null, bool, long, double or string (quoted scalars are strings).</summary>
    public object? ToPlainValue()
    {
        if (!Plain) return Value;
        if (IsNull) return null;
        if (TryBoolean(out var b)) return b;
        if (TryInteger(out var l)) return l;
        if (TryNumber(out var d)) return d;
        return Value;
    }
}

/// <summary>A key/value pair of a mapping; keys are scalars.</summary>
internal sealed record YEntry(YScalar Key, YNode Value);

/// <summary>A mapping with its entries in document order (keys unique).</summary>
internal sealed record YMap(SourcePos Pos, IReadOnlyList<YEntry> Entries) : YNode(Pos)
{
    private readonly long _size = 1 + Entries.Sum(e => 1 + e.Value.Size);

    public override long Size => _size;

    public override string Describe() => "a map";

    public YEntry? Find(string key) => Entries.FirstOrDefault(e => e.Key.Value == key);

    public YMap With(YEntry entry)
    {
        var list = Entries.ToList();
        var i = list.FindIndex(e => e.Key.Value == entry.Key.Value);
        if (i >= 0) list[i] = entry; else list.Add(entry);
        return new YMap(Pos, list);
    }

    public YMap Without(string key) => new(Pos, Entries.Where(e => e.Key.Value != key).ToList());
}

/// <summary>A sequence.</summary>
internal sealed record YSeq(SourcePos Pos, IReadOnlyList<YNode> Items) : YNode(Pos)
{
    private readonly long _size = 1 + Items.Sum(i => i.Size);

    public override long Size => _size;

    public override string Describe() => "a list";
}

/// <summary>
/// Reads one YAML document into <see cref="YNode"/>s from YamlDotNet's parser events, keeping each node's
/// <see cref="Mark"/>. No object is ever instantiated from a tag: only the YAML 1.2 core tags
/// (<c>!!str</c>, <c>!!int</c>, <c>!!float</c>, <c>!!bool</c>, <c>!!null</c>, <c>!!map</c>, <c>!!seq</c>)
/// and the non-specific <c>!</c> are accepted; any other tag is an error at its position.
/// </summary>
internal sealed class YamlTreeReader
{
    /// <summary>Most nodes a document may expand to (aliases counted each time they are used).</summary>
    public const long MaxNodes = 100_000;

    private const string CoreTagPrefix = "tag:yaml.org,2002:";
    private const string MergeKey = "<<";
    private static readonly IReadOnlySet<string> AllowedTags = new HashSet<string>(["str", "int", "float", "bool", "null", "map", "seq"]).ToFrozenSet();

    private readonly string _file;
    private readonly int? _fixedLine;
    private readonly int? _fixedColumn;
    private readonly Dictionary<string, YNode> _anchors = new(StringComparer.Ordinal);
    private IParser _parser = null!;

    private YamlTreeReader(string file, int? fixedLine, int? fixedColumn)
    {
        _file = file;
        _fixedLine = fixedLine;
        _fixedColumn = fixedColumn;
    }

    /// <summary>Reads the single document of <paramref name="text"/>; null when the text holds no document.</summary>
    /// <param name="text">YAML text.</param>
    /// <param name="file">File name used in positions and errors.</param>
    /// <param name="fixedLine">When set, every node gets this line (used for <c>--set</c> values).</param>
    /// <param name="fixedColumn">When set, every node gets this column.</param>
    /// <exception cref="RecipeException">Syntax error, a second document, a bad tag, an unknown alias,
    /// a duplicate or non-scalar key, or too large a document.</exception>
    public static YNode? Read(string text, string file, int? fixedLine = null, int? fixedColumn = null) =>
        new YamlTreeReader(file, fixedLine, fixedColumn).ReadDocument(text);

    private SourcePos At(Mark mark) => new(_file, _fixedLine ?? (int)mark.Line, _fixedColumn ?? (int)mark.Column);

    private RecipeException Fail(Mark mark, string message) => new([At(mark).Error(message)]);

    private YNode? ReadDocument(string text)
    {
        var scanner = new Scanner(new StringReader(text));
        _parser = new Parser(scanner);
        try
        {
            Next(); // StreamStart
            Next();
            if (_parser.Current is StreamEnd) return null;
            if (_parser.Current is not DocumentStart) throw Fail(_parser.Current!.Start, "expected a YAML document");
            Next();
            var root = ReadNode();
            if (_parser.Current is not DocumentEnd) throw Fail(_parser.Current!.Start, "expected the end of the document");
            Next();
            if (_parser.Current is DocumentStart second)
                throw Fail(second.Start, "a recipe file holds one YAML document; found a second one");
            return root;
        }
        catch (YamlException ex)
        {
            throw new RecipeException([new RecipeError(_file, _fixedLine ?? (int)ex.Start.Line, _fixedColumn ?? (int)ex.Start.Column,
                "YAML syntax error: " + CleanMessage(ex.Message))]);
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this for some unterminated flow collections; the scanner knows where it stopped.
            throw new RecipeException([new RecipeError(_file, _fixedLine ?? (int)scanner.CurrentPosition.Line,
                _fixedColumn ?? (int)scanner.CurrentPosition.Column, "YAML syntax error: unexpected end of a flow collection ('[' or '{' not closed?)")]);
        }
    }

    private static string CleanMessage(string message)
    {
        // YamlDotNet prefixes some messages with "(Line: a, Col: b, Idx: c) - (Line: ...): "; the position is ours to print.
        var m = Regex.Match(message, @"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ");
        var text = m.Success ? message[m.Length..] : message;
        return text.TrimEnd('.').Length > 0 ? text.TrimEnd('.') : message;
    }

    private void Next()
    {
        if (!_parser.MoveNext()) throw new YamlException("unexpected end of the YAML stream");
    }

    private YNode ReadNode()
    {
        var ev = _parser.Current!;
        YNode node;
        switch (ev)
        {
            case AnchorAlias alias:
                if (!_anchors.TryGetValue(alias.Value.Value, out var target))
                    throw Fail(alias.Start, $"unknown alias '*{alias.Value.Value}'");
                Next();
                return target;
            case Scalar scalar:
                CheckTag(scalar);
                var isStringTag = !scalar.Tag.IsEmpty && scalar.Tag.Value == CoreTagPrefix + "str";
                node = new YScalar(At(scalar.Start), scalar.Value, scalar.Style == ScalarStyle.Plain && !isStringTag);
                Next();
                break;
            case SequenceStart seq:
                CheckTag(seq);
                Next();
                var items = new List<YNode>();
                while (_parser.Current is not SequenceEnd) items.Add(ReadNode());
                Next();
                node = new YSeq(At(seq.Start), items);
                break;
            case MappingStart map:
                CheckTag(map);
                Next();
                var entries = new List<YEntry>();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                List<YEntry>? merged = null;
                while (_parser.Current is not MappingEnd)
                {
                    var keyEvent = _parser.Current!;
                    var key = ReadNode();
                    if (key is not YScalar keyScalar)
                        throw Fail(keyEvent.Start, "a key must be a plain name, not " + key.Describe());
                    if (!seen.Add(keyScalar.Value))
                        throw Fail(keyEvent.Start, $"duplicate key '{keyScalar.Value}'");
                    if (keyScalar is { Plain: true, Value: MergeKey })
                    {
                        merged = ReadMergeValue();
                        continue;
                    }
                    entries.Add(new YEntry(keyScalar, ReadNode()));
                }
                Next();
                // Explicit keys win over merged ones, wherever '<<' stands in the map.
                if (merged is not null)
                    entries.AddRange(merged.Where(e => !seen.Contains(e.Key.Value)));
                node = new YMap(At(map.Start), entries);
                break;
            default:
                throw Fail(ev.Start, "unexpected YAML event " + ev.GetType().Name);
        }

        if (node.Size > MaxNodes)
            throw Fail(ev.Start, $"the document expands to more than {MaxNodes} nodes (aliases counted each time they are used)");
        if (ev is NodeEvent { Anchor.IsEmpty: false } withAnchor) _anchors[withAnchor.Anchor.Value] = node;
        return node;
    }

    /// <summary>Reads the value of a merge key (<c>&lt;&lt;</c>, YAML 1.1's merge type): a map, or a list of maps
    /// whose earlier maps win over later ones. Returns the merged entries, each once.</summary>
    private List<YEntry> ReadMergeValue()
    {
        var value = ReadNode();
        IReadOnlyList<YNode> sources = value is YSeq seq ? seq.Items : [value];
        var entries = new List<YEntry>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var source in sources)
        {
            if (source is not YMap map)
                throw new RecipeException([source.Pos.Error(
                    $"'{MergeKey}' (a YAML merge key) takes a map or a list of maps, such as *defaults or [*a, *b]; got {source.Describe()}")]);
            foreach (var entry in map.Entries)
                if (keys.Add(entry.Key.Value)) entries.Add(entry);
        }
        return entries;
    }

    private void CheckTag(NodeEvent ev)
    {
        if (ev.Tag.IsEmpty || ev.Tag.IsNonSpecific) return;
        var tag = ev.Tag.Value;
        if (tag.StartsWith(CoreTagPrefix, StringComparison.Ordinal) && AllowedTags.Contains(tag[CoreTagPrefix.Length..])) return;
        var shown = tag.StartsWith(CoreTagPrefix, StringComparison.Ordinal) ? "!!" + tag[CoreTagPrefix.Length..] : tag;
        throw Fail(ev.Start, $"tag '{shown}' is not allowed: recipes hold plain data (strings, numbers, booleans, lists, maps)");
    }
}

/// <summary>Include merging and <c>--set</c> overrides on node trees.</summary>
internal static class YamlTreeOps
{
    /// <summary>Deep merge: maps merge key by key (<paramref name="over"/> wins), anything else is replaced.</summary>
    public static YMap Merge(YMap under, YMap over)
    {
        var result = under.Entries.ToList();
        foreach (var entry in over.Entries)
        {
            var i = result.FindIndex(e => e.Key.Value == entry.Key.Value);
            if (i < 0) { result.Add(entry); continue; }
            result[i] = result[i].Value is YMap a && entry.Value is YMap b
                ? new YEntry(entry.Key, Merge(a, b))
                : entry;
        }
        return new YMap(over.Pos, result);
    }

    /// <summary>Sets <paramref name="value"/> at the dotted <paramref name="path"/>, creating maps on the way;
    /// a numeric segment indexes a list. Returns null and sets <paramref name="error"/> when the path
    /// goes through a scalar or outside a list.</summary>
    public static YNode? SetPath(YNode node, IReadOnlyList<string> path, int index, YNode value, SourcePos pos, out string? error)
    {
        error = null;
        var segment = path[index];
        var last = index == path.Count - 1;
        var walked = string.Join('.', path.Take(index));
        switch (node)
        {
            case YMap map:
            {
                var existing = map.Find(segment);
                var key = existing?.Key ?? new YScalar(pos, segment, true);
                if (last) return map.With(new YEntry(key, value));
                if (existing?.Value is YScalar { IsNull: false })
                {
                    error = $"'{string.Join('.', path.Take(index + 1))}' is not a map";
                    return null;
                }
                var child = existing?.Value is { } v && v is YMap or YSeq ? v : new YMap(pos, []);
                var updated = SetPath(child, path, index + 1, value, pos, out error);
                return updated is null ? null : map.With(new YEntry(key, updated));
            }
            case YSeq seq:
            {
                if (!int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var i) || i >= seq.Items.Count)
                {
                    error = $"'{walked}' is a list of {seq.Items.Count}; '{segment}' is not an index in it";
                    return null;
                }
                var items = seq.Items.ToList();
                if (last) items[i] = value;
                else
                {
                    if (items[i] is YScalar { IsNull: false })
                    {
                        error = $"'{string.Join('.', path.Take(index + 1))}' is not a map";
                        return null;
                    }
                    var child = items[i] is YMap or YSeq ? items[i] : new YMap(pos, []);
                    var updated = SetPath(child, path, index + 1, value, pos, out error);
                    if (updated is null) return null;
                    items[i] = updated;
                }
                return new YSeq(seq.Pos, items);
            }
            default:
                error = $"'{walked}' is not a map";
                return null;
        }
    }
}
