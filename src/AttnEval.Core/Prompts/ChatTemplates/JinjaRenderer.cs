using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AttnEval.Core.Prompts.ChatTemplates;

/// <summary>Jinja's undefined value: falsy, renders as nothing, <c>is defined</c> is false.</summary>
internal sealed class Undefined
{
    public static readonly Undefined Value = new();
    private Undefined() { }
}

/// <summary>The object <c>namespace(...)</c> returns: attributes assignable with <c>{% set ns.x = … %}</c>.</summary>
internal sealed class Namespace(Dictionary<string, object?> values)
{
    public Dictionary<string, object?> Values { get; } = values;
}

/// <summary>Evaluates a parsed template with Python Jinja2 semantics for the values chat templates handle: strings,
/// integers, floats, booleans, none, lists and dicts (from the messages' JSON), namespaces and the loop object.</summary>
internal sealed class JinjaRenderer
{
    private readonly List<Dictionary<string, object?>> _scopes = [];
    private readonly StringBuilder _out = new();

    private JinjaRenderer(Dictionary<string, object?> globals) => _scopes.Add(globals);

    public static string Render(IReadOnlyList<Node> nodes, Dictionary<string, object?> globals)
    {
        var r = new JinjaRenderer(globals);
        r.Execute(nodes);
        return r._out.ToString();
    }

    private static ChatTemplateException Error(string what, int line, int column) =>
        new($"chat_template {line}:{column}: {what}", line, column);

    private static ChatTemplateException Error(string what, Expr at) => Error(what, at.Line, at.Column);

    private void Execute(IReadOnlyList<Node> nodes)
    {
        foreach (var node in nodes)
        {
            switch (node)
            {
                case TextNode t:
                    _out.Append(t.Text);
                    break;
                case OutputNode o:
                    _out.Append(ToText(Eval(o.Value)));
                    break;
                case IfNode i:
                {
                    bool done = false;
                    foreach (var (cond, body) in i.Branches)
                        if (Truthy(Eval(cond))) { Execute(body); done = true; break; }
                    if (!done && i.Else is not null) Execute(i.Else);
                    break;
                }
                case ForNode f:
                    ExecuteFor(f);
                    break;
                case SetNode s:
                {
                    var value = Eval(s.Value);
                    if (s.Attribute is null) _scopes[^1][s.Name] = value;
                    else if (Lookup(s.Name) is Namespace ns) ns.Values[s.Attribute] = value;
                    else throw Error($"'{s.Name}' is not a namespace, so '{s.Name}.{s.Attribute}' cannot be set", s.Line, s.Column);
                    break;
                }
            }
        }
    }

    private void ExecuteFor(ForNode f)
    {
        var source = Eval(f.Iterable);
        var items = source switch
        {
            List<object?> l => l.ToList(),
            Dictionary<string, object?> d => d.Keys.Cast<object?>().ToList(),
            string s => s.EnumerateRunes().Select(r => (object?)r.ToString()).ToList(),
            Undefined or null => [],
            _ => throw Error($"cannot loop over {TypeName(source)}", f.Iterable),
        };
        if (f.Filter is not null)
            items = items.Where(item => { using var _ = PushScope(Bind(f, item)); return Truthy(Eval(f.Filter)); }).ToList();
        if (items.Count == 0)
        {
            if (f.Else is not null) Execute(f.Else);
            return;
        }
        for (int i = 0; i < items.Count; i++)
        {
            var scope = Bind(f, items[i]);
            scope["loop"] = new Dictionary<string, object?>
            {
                ["index0"] = (long)i, ["index"] = (long)(i + 1), ["revindex0"] = (long)(items.Count - 1 - i), ["revindex"] = (long)(items.Count - i),
                ["first"] = i == 0, ["last"] = i == items.Count - 1, ["length"] = (long)items.Count,
                ["previtem"] = i > 0 ? items[i - 1] : Undefined.Value, ["nextitem"] = i < items.Count - 1 ? items[i + 1] : Undefined.Value,
            };
            using var _ = PushScope(scope);
            Execute(f.Body);
        }
    }

    private static Dictionary<string, object?> Bind(ForNode f, object? item)
    {
        var scope = new Dictionary<string, object?>();
        if (f.Targets.Count == 1) scope[f.Targets[0]] = item;
        else if (item is List<object?> tuple && tuple.Count == f.Targets.Count)
            for (int k = 0; k < tuple.Count; k++) scope[f.Targets[k]] = tuple[k];
        else throw Error($"cannot unpack {TypeName(item)} into {f.Targets.Count} loop variables", f.Line, f.Column);
        return scope;
    }

    private ScopeHandle PushScope(Dictionary<string, object?> scope)
    {
        _scopes.Add(scope);
        return new ScopeHandle(_scopes);
    }

    private readonly struct ScopeHandle(List<Dictionary<string, object?>> scopes) : IDisposable
    {
        public void Dispose() => scopes.RemoveAt(scopes.Count - 1);
    }

    private object? Lookup(string name)
    {
        for (int i = _scopes.Count - 1; i >= 0; i--)
            if (_scopes[i].TryGetValue(name, out var v)) return v;
        return Undefined.Value;
    }

    private object? Eval(Expr e)
    {
        switch (e)
        {
            case Literal l: return l.Value;
            case NameExpr n: return Lookup(n.Name);
            case ListExpr l: return l.Items.Select(Eval).ToList();
            case DictExpr d:
            {
                var dict = new Dictionary<string, object?>();
                foreach (var (k, v) in d.Items) dict[Eval(k) as string ?? throw Error("dict keys must be strings", k)] = Eval(v);
                return dict;
            }
            case AttributeExpr a:
            {
                var target = Eval(a.Target);
                return target switch
                {
                    Dictionary<string, object?> d => d.TryGetValue(a.Name, out var v) ? v
                        : a.Name is "items" or "keys" or "values" or "get" ? new BoundMethod(target, a.Name) : Undefined.Value,
                    Namespace ns => ns.Values.TryGetValue(a.Name, out var v) ? v : Undefined.Value,
                    string or List<object?> => new BoundMethod(target, a.Name),
                    Undefined => Undefined.Value,
                    _ => Undefined.Value,
                };
            }
            case IndexExpr ix: return Index(Eval(ix.Target), Eval(ix.Index), ix);
            case SliceExpr s: return Slice(Eval(s.Target), s);
            case CallExpr c: return Call(c);
            case FilterExpr f: return Filter(f);
            case TestExpr t: return Test(t) != t.Negated;
            case UnaryExpr u:
            {
                var v = Eval(u.Operand);
                return u.Op switch
                {
                    "not" => !Truthy(v),
                    "-" => v switch { long i => (object)(-i), double d => -d, _ => throw Error($"cannot negate {TypeName(v)}", u) },
                    _ => v,
                };
            }
            case BinaryExpr b: return Binary(b);
            case ConditionalExpr c: return Truthy(Eval(c.Condition)) ? Eval(c.Then) : c.Else is null ? Undefined.Value : Eval(c.Else);
            default: throw Error("unknown expression", e);
        }
    }

    private sealed record BoundMethod(object? Target, string Name);

    private static object? Index(object? target, object? index, Expr at) => target switch
    {
        List<object?> l when index is long i => i < 0 ? (l.Count + i >= 0 ? l[(int)(l.Count + i)] : Undefined.Value) : i < l.Count ? l[(int)i] : Undefined.Value,
        string s when index is long i => Runes(s) is var r && (i < 0 ? i + r.Count : i) is var k && k >= 0 && k < r.Count ? r[(int)k] : Undefined.Value,
        Dictionary<string, object?> d when index is string k => d.TryGetValue(k, out var v) ? v : Undefined.Value,
        Namespace ns when index is string k => ns.Values.TryGetValue(k, out var v) ? v : Undefined.Value,
        Undefined => Undefined.Value,
        _ => throw Error($"cannot index {TypeName(target)} with {TypeName(index)}", at),
    };

    private static List<string> Runes(string s) => s.EnumerateRunes().Select(r => r.ToString()).ToList();

    private object? Slice(object? target, SliceExpr s)
    {
        long? Arg(Expr? e) => e is null ? null : Eval(e) is long v ? v : throw Error("slice bounds must be integers", e);
        List<object?> items = target switch
        {
            List<object?> l => l,
            string str => Runes(str).Cast<object?>().ToList(),
            _ => throw Error($"cannot slice {TypeName(target)}", s),
        };
        long n = items.Count, step = Arg(s.Step) ?? 1;
        if (step == 0) throw Error("slice step cannot be zero", s);
        long Clamp(long? v, long dflt, long lo, long hi) => v is null ? dflt : Math.Clamp(v.Value < 0 ? v.Value + n : v.Value, lo, hi);
        var result = new List<object?>();
        if (step > 0)
            for (long i = Clamp(Arg(s.Start), 0, 0, n), stop = Clamp(Arg(s.Stop), n, 0, n); i < stop; i += step) result.Add(items[(int)i]);
        else
            for (long i = Clamp(Arg(s.Start), n - 1, -1, n - 1), stop = Clamp(Arg(s.Stop), -1, -1, n - 1); i > stop; i += step) result.Add(items[(int)i]);
        return target is string ? string.Concat(result.Cast<string>()) : result;
    }

    private object? Call(CallExpr c)
    {
        var args = c.Args.Select(Eval).ToList();
        var kwargs = c.Kwargs.ToDictionary(k => k.Name, k => Eval(k.Value));
        if (c.Callee is NameExpr { Name: var fn } && Lookup(fn) is Undefined)
        {
            switch (fn)
            {
                case "namespace":
                    return new Namespace(new Dictionary<string, object?>(kwargs));
                case "range":
                {
                    var ints = args.Select(a => a as long? ?? throw Error("range() takes integers", c)).ToList();
                    var (start, stop, step) = ints.Count switch { 1 => (0L, ints[0], 1L), 2 => (ints[0], ints[1], 1L), 3 => (ints[0], ints[1], ints[2]), _ => throw Error("range() takes 1 to 3 integers", c) };
                    var list = new List<object?>();
                    for (long i = start; step > 0 ? i < stop : i > stop; i += step) list.Add(i);
                    return list;
                }
                case "raise_exception":
                    throw Error($"the template raised an error: {ToText(args.FirstOrDefault())}", c);
                default:
                    throw Error($"function '{fn}' is not supported", c);
            }
        }
        var callee = Eval(c.Callee);
        if (callee is not BoundMethod m) throw Error($"{TypeName(callee)} is not callable", c);
        string? Str(int i) => i < args.Count ? args[i] as string : null;
        switch (m.Target)
        {
            case string s:
                return m.Name switch
                {
                    "startswith" => args[0] is List<object?> opts ? opts.Any(o => s.StartsWith((string)o!, StringComparison.Ordinal)) : s.StartsWith(Str(0)!, StringComparison.Ordinal),
                    "endswith" => args[0] is List<object?> opts2 ? opts2.Any(o => s.EndsWith((string)o!, StringComparison.Ordinal)) : s.EndsWith(Str(0)!, StringComparison.Ordinal),
                    "strip" => Str(0) is { } ch ? s.Trim(ch.ToCharArray()) : s.Trim(),
                    "lstrip" => Str(0) is { } ch2 ? s.TrimStart(ch2.ToCharArray()) : s.TrimStart(),
                    "rstrip" => Str(0) is { } ch3 ? s.TrimEnd(ch3.ToCharArray()) : s.TrimEnd(),
                    "split" => SplitString(s, Str(0), args.Count > 1 && args[1] is long max ? (int)max : -1),
                    "upper" => s.ToUpperInvariant(),
                    "lower" => s.ToLowerInvariant(),
                    "title" => CultureInfo.InvariantCulture.TextInfo.ToTitleCase(s.ToLowerInvariant()),
                    "capitalize" => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant(),
                    "replace" => s.Replace(Str(0)!, Str(1) ?? "", StringComparison.Ordinal),
                    "find" => (long)s.IndexOf(Str(0)!, StringComparison.Ordinal),
                    "count" => (long)(s.Length == 0 ? 0 : (s.Length - s.Replace(Str(0)!, "", StringComparison.Ordinal).Length) / Math.Max(1, Str(0)!.Length)),
                    _ => throw Error($"string method '{m.Name}' is not supported", c),
                };
            case Dictionary<string, object?> d:
                return m.Name switch
                {
                    "items" => d.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList(),
                    "keys" => d.Keys.Cast<object?>().ToList(),
                    "values" => d.Values.ToList(),
                    "get" => d.TryGetValue(Str(0)!, out var v) ? v : args.Count > 1 ? args[1] : null,
                    _ => throw Error($"dict method '{m.Name}' is not supported", c),
                };
            default:
                throw Error($"method '{m.Name}' of {TypeName(m.Target)} is not supported", c);
        }
    }

    private static List<object?> SplitString(string s, string? sep, int max)
    {
        if (sep is null)
            return s.Split((char[]?)null, max < 0 ? int.MaxValue : max + 1, StringSplitOptions.RemoveEmptyEntries).Cast<object?>().ToList();
        return s.Split(sep, max < 0 ? int.MaxValue : max + 1).Cast<object?>().ToList();
    }

    private object? Filter(FilterExpr f)
    {
        var v = Eval(f.Target);
        var args = f.Args.Select(Eval).ToList();
        var kwargs = f.Kwargs.ToDictionary(k => k.Name, k => Eval(k.Value));
        switch (f.Name)
        {
            case "trim": return ToText(v).Trim();
            case "upper": return ToText(v).ToUpperInvariant();
            case "lower": return ToText(v).ToLowerInvariant();
            case "capitalize": { var s = ToText(v); return s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant(); }
            case "title": return CultureInfo.InvariantCulture.TextInfo.ToTitleCase(ToText(v).ToLowerInvariant());
            case "string": return ToText(v);
            case "length" or "count":
                return v switch
                {
                    string s => (long)s.EnumerateRunes().Count(),
                    List<object?> l => (long)l.Count,
                    Dictionary<string, object?> d => (long)d.Count,
                    _ => throw Error($"{TypeName(v)} has no length", f),
                };
            case "first": return v is List<object?> { Count: > 0 } l1 ? l1[0] : v is string { Length: > 0 } s1 ? Runes(s1)[0] : Undefined.Value;
            case "last": return v is List<object?> { Count: > 0 } l2 ? l2[^1] : v is string { Length: > 0 } s2 ? Runes(s2)[^1] : Undefined.Value;
            case "reverse": return v is string s3 ? string.Concat(Runes(s3).AsEnumerable().Reverse()) : v is List<object?> l3 ? l3.AsEnumerable().Reverse().ToList() : throw Error($"cannot reverse {TypeName(v)}", f);
            case "list": return v is List<object?> l4 ? l4.ToList() : v is string s4 ? Runes(s4).Cast<object?>().ToList() : v is Dictionary<string, object?> d4 ? d4.Keys.Cast<object?>().ToList() : throw Error($"cannot make a list of {TypeName(v)}", f);
            case "join": return v is List<object?> l5 ? string.Join(args.Count > 0 ? ToText(args[0]) : "", l5.Select(ToText)) : throw Error($"cannot join {TypeName(v)}", f);
            case "default" or "d":
            {
                bool boolean = args.Count > 1 && Truthy(args[1]) || kwargs.TryGetValue("boolean", out var b) && Truthy(b);
                return v is Undefined || (boolean && !Truthy(v)) ? (args.Count > 0 ? args[0] : "") : v;
            }
            case "int": return v switch { long i => i, double d => (long)d, string s when long.TryParse(s, CultureInfo.InvariantCulture, out var p) => p, bool b2 => b2 ? 1L : 0L, _ => 0L };
            case "float": return v switch { long i => (double)i, double d => d, string s when double.TryParse(s, CultureInfo.InvariantCulture, out var p) => p, _ => 0.0 };
            case "items": return v is Dictionary<string, object?> d5 ? d5.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList() : throw Error($"{TypeName(v)} has no items", f);
            case "replace": return ToText(v).Replace(ToText(args[0]), ToText(args[1]), StringComparison.Ordinal);
            case "tojson":
            {
                int? indent = kwargs.TryGetValue("indent", out var ind) && ind is long n ? (int)n : args.Count > 0 && args[0] is long n2 ? (int)n2 : null;
                return PythonJson(v, indent, 0);
            }
            default:
                throw Error($"filter '{f.Name}' is not supported", f);
        }
    }

    private bool Test(TestExpr t)
    {
        var v = Eval(t.Target);
        return t.Name switch
        {
            "defined" => v is not Undefined,
            "undefined" => v is Undefined,
            "none" => v is null,
            "true" => v is true,
            "false" => v is false,
            "boolean" => v is bool,
            "string" => v is string,
            "number" => v is long or double,
            "integer" => v is long,
            "float" => v is double,
            "mapping" => v is Dictionary<string, object?>,
            "sequence" => v is List<object?> or string or Dictionary<string, object?>,
            "iterable" => v is List<object?> or string or Dictionary<string, object?>,
            "callable" => v is BoundMethod,
            "equalto" or "eq" or "sameas" => Equal(v, t.Args.Count > 0 ? Eval(t.Args[0]) : null),
            "odd" => v is long o && o % 2 != 0,
            "even" => v is long e && e % 2 == 0,
            _ => throw Error($"test '{t.Name}' is not supported", t),
        };
    }

    private object? Binary(BinaryExpr b)
    {
        if (b.Op == "and") { var l = Eval(b.Left); return Truthy(l) ? Eval(b.Right) : l; }
        if (b.Op == "or") { var l = Eval(b.Left); return Truthy(l) ? l : Eval(b.Right); }
        var left = Eval(b.Left);
        var right = Eval(b.Right);
        switch (b.Op)
        {
            case "==": return Equal(left, right);
            case "!=": return !Equal(left, right);
            case "<" or ">" or "<=" or ">=":
            {
                int cmp = (left, right) switch
                {
                    (string x, string y) => string.CompareOrdinal(x, y),
                    _ when IsNumber(left) && IsNumber(right) => ToDouble(left).CompareTo(ToDouble(right)),
                    _ => throw Error($"cannot compare {TypeName(left)} with {TypeName(right)}", b),
                };
                return b.Op switch { "<" => cmp < 0, ">" => cmp > 0, "<=" => cmp <= 0, _ => cmp >= 0 };
            }
            case "in": return Contains(right, left, b);
            case "not in": return !Contains(right, left, b);
            case "~": return ToText(left) + ToText(right);
            case "+":
                return (left, right) switch
                {
                    (string x, string y) => x + y,
                    (List<object?> x, List<object?> y) => x.Concat(y).ToList(),
                    (long x, long y) => x + y,
                    _ when IsNumber(left) && IsNumber(right) => ToDouble(left) + ToDouble(right),
                    _ => throw Error($"cannot add {TypeName(left)} and {TypeName(right)}", b),
                };
            case "-" or "*" or "/" or "//" or "%" or "**":
                if (b.Op == "*" && left is string rep && right is long times) return string.Concat(Enumerable.Repeat(rep, (int)Math.Max(0, times)));
                if (!IsNumber(left) || !IsNumber(right)) throw Error($"cannot apply '{b.Op}' to {TypeName(left)} and {TypeName(right)}", b);
                if (left is long li && right is long ri && b.Op is not ("/" or "**"))
                    return b.Op switch
                    {
                        "-" => li - ri,
                        "*" => li * ri,
                        "//" => ri == 0 ? throw Error("division by zero", b) : (long)Math.Floor((double)li / ri),
                        _ => ri == 0 ? throw Error("division by zero", b) : ((li % ri) + ri) % ri,
                    };
                double dl = ToDouble(left), dr = ToDouble(right);
                return b.Op switch
                {
                    "-" => dl - dr,
                    "*" => dl * dr,
                    "/" => dr == 0 ? throw Error("division by zero", b) : dl / dr,
                    "//" => Math.Floor(dl / dr),
                    "%" => dl - dr * Math.Floor(dl / dr),
                    _ => left is long bl && right is long br && br >= 0 ? (object)(long)Math.Pow(bl, br) : Math.Pow(dl, dr),
                };
            default: throw Error($"operator '{b.Op}' is not supported", b);
        }
    }

    private static bool Contains(object? container, object? item, Expr at) => container switch
    {
        string s => item is string sub ? s.Contains(sub, StringComparison.Ordinal) : throw Error($"'in <string>' needs a string, not {TypeName(item)}", at),
        List<object?> l => l.Any(x => Equal(x, item)),
        Dictionary<string, object?> d => item is string k && d.ContainsKey(k),
        Undefined or null => false,
        _ => throw Error($"cannot test membership in {TypeName(container)}", at),
    };

    private static bool IsNumber(object? v) => v is long or double || v is bool;

    private static double ToDouble(object? v) => v switch { long i => i, double d => d, bool b => b ? 1 : 0, _ => 0 };

    private static bool Equal(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (Undefined, Undefined) => true,
        (string x, string y) => x == y,
        (bool x, bool y) => x == y,
        _ when a is long or double && b is long or double => ToDouble(a) == ToDouble(b),
        (List<object?> x, List<object?> y) => x.Count == y.Count && x.Zip(y).All(p => Equal(p.First, p.Second)),
        (Dictionary<string, object?> x, Dictionary<string, object?> y) => x.Count == y.Count && x.All(kv => y.TryGetValue(kv.Key, out var o) && Equal(kv.Value, o)),
        _ => false,
    };

    private static bool Truthy(object? v) => v switch
    {
        null or Undefined => false,
        bool b => b,
        long i => i != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> l => l.Count > 0,
        Dictionary<string, object?> d => d.Count > 0,
        _ => true,
    };

    /// <summary>What <c>{{ value }}</c> writes (Python's <c>str</c>: <c>None</c>, <c>True</c>, lists and dicts as Python reprs).</summary>
    private static string ToText(object? v) => v switch
    {
        null => "None",
        Undefined => "",
        string s => s,
        bool b => b ? "True" : "False",
        long i => i.ToString(CultureInfo.InvariantCulture),
        double d => PythonFloat(d),
        List<object?> l => "[" + string.Join(", ", l.Select(Repr)) + "]",
        Dictionary<string, object?> d => "{" + string.Join(", ", d.Select(kv => Repr(kv.Key) + ": " + Repr(kv.Value))) + "}",
        _ => v.ToString() ?? "",
    };

    private static string Repr(object? v) => v is string s ? "'" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'" : ToText(v);

    private static string PythonFloat(double d) =>
        double.IsInteger(d) && Math.Abs(d) < 1e16 ? d.ToString("0.0", CultureInfo.InvariantCulture) : d.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Python's <c>json.dumps(v, ensure_ascii=False, indent=indent)</c>, as transformers' <c>tojson</c> filter writes it.</summary>
    private static string PythonJson(object? v, int? indent, int depth)
    {
        string Pad(int d) => indent is null ? "" : "\n" + new string(' ', indent.Value * d);
        string itemSep = indent is null ? ", " : ",";
        switch (v)
        {
            case null or Undefined: return "null";
            case bool b: return b ? "true" : "false";
            case long i: return i.ToString(CultureInfo.InvariantCulture);
            case double d: return PythonFloat(d);
            case string s: return JsonString(s);
            case List<object?> l:
                if (l.Count == 0) return "[]";
                return "[" + string.Join(itemSep, l.Select(x => Pad(depth + 1) + PythonJson(x, indent, depth + 1))) + Pad(depth) + "]";
            case Dictionary<string, object?> dict:
                if (dict.Count == 0) return "{}";
                return "{" + string.Join(itemSep, dict.Select(kv => Pad(depth + 1) + JsonString(kv.Key) + ": " + PythonJson(kv.Value, indent, depth + 1))) + Pad(depth) + "}";
            default: return JsonString(ToText(v));
        }
    }

    private static string JsonString(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    private static string TypeName(object? v) => v switch
    {
        null => "none",
        Undefined => "an undefined value",
        string => "a string",
        bool => "a boolean",
        long => "an integer",
        double => "a float",
        List<object?> => "a list",
        Dictionary<string, object?> => "a dict",
        Namespace => "a namespace",
        _ => v.GetType().Name,
    };

    /// <summary>Converts JSON (messages, tools) to template values.</summary>
    public static object? FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out var i) ? (object)i : e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Array => e.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.Object => e.EnumerateObject().ToDictionary(p => p.Name, p => FromJson(p.Value)),
        _ => null,
    };
}
