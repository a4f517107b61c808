using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using System.Text;
using AttnEval.Abstractions;

namespace AttnEval.Plugins.Sdk;

/// <summary>
/// Options declared once: reads a plugin's options class — public properties marked <see cref="OptionAttribute"/>, the
/// default being each property's initializer — and gives the metric's <see cref="OptionSpec"/> list
/// (<see cref="Specs{T}"/>) and the typed options built from a recipe's validated <see cref="OptionValues"/>
/// (<see cref="Bind{T}"/>). Properties without the attribute are ignored. The reflection is done once per class and
/// cached; both methods are thread-safe.
/// </summary>
/// <example>
/// <code>
/// internal sealed record MyOptions
/// {
///     [Option("top_heads", "heads kept per row (paper §3)", Min = 1)] public int TopHeads { get; init; } = 16;
///     [Option("mode", "how rows are combined")] public Mode Mode { get; init; } = Mode.MaxMean;   // "max_mean", …
/// }
/// public IReadOnlyList&lt;OptionSpec&gt; Options { get; } = OptionBinder.Specs&lt;MyOptions&gt;();
/// public ISampleEstimator Create(OptionValues values) =&gt; new MyEstimator(OptionBinder.Bind&lt;MyOptions&gt;(values));
/// </code>
/// </example>
public static class OptionBinder
{
    private static readonly ConcurrentDictionary<Type, Model> Cache = new();

    /// <summary>The options of <typeparamref name="T"/> in declaration order (by <see cref="OptionAttribute.Order"/>,
    /// then base class first): key, type, default
    /// (boxed <see cref="long"/>, <see cref="double"/>, <see cref="bool"/>, <see cref="string"/>, or a
    /// <see cref="List{T}"/> of those; null when the initializer is null or an empty list, or the option is required), range, allowed
    /// values, required flag and description. The same list instance is returned on every call.</summary>
    /// <exception cref="InvalidOperationException">The class declares an option badly: an unsupported property type, a
    /// property that cannot be set, a duplicate key, <see cref="OptionAttribute.Allowed"/> on a non-string or
    /// <see cref="OptionAttribute.FilePath"/>/<see cref="OptionAttribute.FolderPath"/> on a non-string; the message
    /// names the class and the property.</exception>
    public static IReadOnlyList<OptionSpec> Specs<T>() where T : class, new() => Get(typeof(T)).Specs;

    /// <summary>A new <typeparamref name="T"/> (its initializers are the defaults) with every option present in
    /// <paramref name="values"/> with a non-null value set from it: integers narrowed to the property's type, enum
    /// strings mapped back to their members, lists copied into the property's list type. A key absent from
    /// <paramref name="values"/> (or null) keeps the initializer.</summary>
    /// <param name="values">Values validated against <see cref="Specs{T}"/> (the recipe loader's output).</param>
    /// <param name="errorPrefix">Null (the default): the values are trusted to be in range (the recipe loader checked
    /// them) and an error message starts with <c>option '&lt;key&gt;':</c>. Set (e.g. <c>metrics.receiver-heads.</c>): each
    /// present value is also checked against its spec — a number or each list element against
    /// <see cref="OptionSpec.Min"/>/<see cref="OptionSpec.Max"/> (NaN is out of range), a string against
    /// <see cref="OptionSpec.AllowedValues"/> — for a factory called without the loader, and every error message starts
    /// with <c>&lt;errorPrefix&gt;&lt;key&gt;:</c>, e.g. <c>metrics.x.top_k: 0 is out of range (≥ 1)</c>,
    /// <c>metrics.x.tau: 1.5 is out of range [0, 1]</c>, <c>metrics.x.mode: 'a' is not one of b, c</c>.</param>
    /// <exception cref="InvalidOperationException">A bad declaration (see <see cref="Specs{T}"/>).</exception>
    /// <exception cref="KeyNotFoundException">A <see cref="OptionAttribute.Required"/> option has no value.</exception>
    /// <exception cref="ArgumentException">A value does not fit its property (out of the property type's range, not
    /// one of the enum's names, not a number) or, with <paramref name="errorPrefix"/>, is outside its spec's range or
    /// allowed values; the message names the option key.</exception>
    public static T Bind<T>(OptionValues values, string? errorPrefix = null) where T : class, new()
    {
        ArgumentNullException.ThrowIfNull(values);
        var model = Get(typeof(T));
        var result = new T();
        foreach (var option in model.Options)
        {
            var key = option.Spec.Key;
            if (!values.Values.TryGetValue(key, out var value) || value is null)
            {
                if (option.Spec.Required) throw new KeyNotFoundException($"option '{key}' is not set");
                continue;
            }
            var where = errorPrefix is null ? $"option '{key}'" : errorPrefix + key;
            if (errorPrefix is not null) Check(option.Spec, value, where);
            object? converted;
            try
            {
                converted = option.Convert(value);
            }
            catch (Exception e) when (e is InvalidCastException or FormatException or OverflowException)
            {
                throw new ArgumentException($"{where}: {Describe(value)} does not fit {option.Property.PropertyType.Name} ({e.Message})", e);
            }
            option.Property.SetValue(result, converted);
        }
        return result;
    }

    private static void Check(OptionSpec spec, object value, string where)
    {
        var c = CultureInfo.InvariantCulture;
        IEnumerable<object?> items = value is IEnumerable e and not string ? e.Cast<object?>() : [value];
        foreach (var item in items)
        {
            if (item is null) continue;
            switch (spec.Type)
            {
                case OptionType.Integer or OptionType.Number or OptionType.IntegerList or OptionType.NumberList:
                    double x;
                    try { x = Convert.ToDouble(item, c); }
                    catch (Exception ex) when (ex is InvalidCastException or FormatException or OverflowException)
                    {
                        throw new ArgumentException($"{where}: expected a number, got {Describe(item)}", ex);
                    }
                    if (double.IsNaN(x) || x < (spec.Min ?? double.NegativeInfinity) || x > (spec.Max ?? double.PositiveInfinity))
                    {
                        var range = spec.Min is { } lo && spec.Max is { } hi ? string.Create(c, $"[{lo}, {hi}]")
                            : spec.Min is { } lo2 ? string.Create(c, $"(≥ {lo2})") : string.Create(c, $"(≤ {spec.Max})");
                        throw new ArgumentException(string.Create(c, $"{where}: {Convert.ToString(item, c)} is out of range {range}"));
                    }
                    break;
                case OptionType.String or OptionType.StringList when spec.AllowedValues is { Count: > 0 } allowed:
                    var text = Convert.ToString(item, c) ?? "";
                    if (!allowed.Contains(text, StringComparer.Ordinal))
                        throw new ArgumentException($"{where}: '{text}' is not one of {string.Join(", ", allowed)}");
                    break;
            }
        }
    }

    /// <summary>The recipe string of an enum member as an option value: its <see cref="OptionNameAttribute"/>, else its
    /// name in <paramref name="naming"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="value"/> is not a declared member.</exception>
    public static string OptionName<TEnum>(TEnum value, OptionNaming naming = OptionNaming.SnakeCase) where TEnum : struct, Enum =>
        EnumNames(typeof(TEnum), naming).FirstOrDefault(n => n.Value.Equals(value)).Name
        ?? throw new ArgumentException($"{value} is not a declared member of {typeof(TEnum).Name}", nameof(value));

    // ---------------------------------------------------------------- the cached model of one options class

    private sealed record BoundOption(PropertyInfo Property, OptionSpec Spec, Func<object, object?> Convert);

    private sealed record Model(IReadOnlyList<BoundOption> Options, IReadOnlyList<OptionSpec> Specs);

    private static Model Get(Type type) => Cache.GetOrAdd(type, Build);

    private static Model Build(Type type)
    {
        object defaults;
        try
        {
            defaults = Activator.CreateInstance(type)!;
        }
        catch (Exception e) when (e is MissingMethodException or TargetInvocationException or MemberAccessException)
        {
            throw new InvalidOperationException($"options class {type.FullName}: cannot create it with its public parameterless constructor ({(e.InnerException ?? e).Message})", e);
        }

        var depth = new Func<Type?, int>(t => { var d = 0; for (; t is not null; t = t.BaseType) d++; return d; });
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => (Property: p, Attribute: p.GetCustomAttribute<OptionAttribute>(inherit: true)))
            .Where(x => x.Attribute is not null)
            .OrderBy(x => x.Attribute!.Order)
            .ThenBy(x => depth(x.Property.DeclaringType))
            .ThenBy(x => x.Property.MetadataToken)
            .ToList();

        var options = new List<BoundOption>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (property, attribute) in properties)
        {
            var where = $"options class {type.FullName}, property {property.Name} (option '{attribute!.Key}')";
            if (string.IsNullOrWhiteSpace(attribute.Key)) throw new InvalidOperationException($"options class {type.FullName}, property {property.Name}: the option key is empty");
            if (!keys.Add(attribute.Key)) throw new InvalidOperationException($"{where}: the key is declared twice");
            if (property.SetMethod is not { IsPublic: true } || property.GetIndexParameters().Length > 0)
                throw new InvalidOperationException($"{where}: the property needs a public set or init accessor");
            options.Add(Declare(property, attribute, defaults, where));
        }
        return new Model(options, options.Select(o => o.Spec).ToList().AsReadOnly());
    }

    private static BoundOption Declare(PropertyInfo property, OptionAttribute attribute, object defaults, string where)
    {
        var propertyType = property.PropertyType;
        var scalarType = Nullable.GetUnderlyingType(propertyType) ?? propertyType;
        var elementType = ListElement(propertyType);
        var isPath = attribute.FilePath || attribute.FolderPath;
        if (attribute.FilePath && attribute.FolderPath) throw new InvalidOperationException($"{where}: FilePath and FolderPath are both set");
        if (isPath && propertyType != typeof(string)) throw new InvalidOperationException($"{where}: FilePath/FolderPath needs a string property, not {TypeName(propertyType)}");
        if (attribute.Allowed is not null && propertyType != typeof(string) && elementType != typeof(string))
            throw new InvalidOperationException($"{where}: Allowed needs a string or string-list property, not {TypeName(propertyType)} (an enum lists its own members)");

        OptionType type;
        Func<object, object?> convert;
        Func<object, object> specDefault;
        IReadOnlyList<string>? allowed = attribute.Allowed?.ToList().AsReadOnly();

        if (elementType is not null)
        {
            var (elementOptionType, elementConvert, elementDefault) = Scalar(elementType, attribute, where, out var elementAllowed)
                ?? throw Unsupported(where, propertyType);
            if (elementAllowed is not null) allowed = elementAllowed;
            type = elementOptionType switch
            {
                OptionType.Integer => OptionType.IntegerList,
                OptionType.Number => OptionType.NumberList,
                OptionType.String => OptionType.StringList,
                _ => throw Unsupported(where, propertyType),
            };
            convert = v => MakeList(propertyType, elementType, ((IEnumerable)v).Cast<object>().Select(elementConvert));
            specDefault = v => type switch
            {
                OptionType.IntegerList => ((IEnumerable)v).Cast<object>().Select(x => (long)elementDefault(x)).ToList(),
                OptionType.NumberList => ((IEnumerable)v).Cast<object>().Select(x => (double)elementDefault(x)).ToList(),
                _ => (object)((IEnumerable)v).Cast<object>().Select(x => (string)elementDefault(x)).ToList(),
            };
        }
        else
        {
            (type, convert, specDefault) = Scalar(scalarType, attribute, where, out var enumAllowed) ?? throw Unsupported(where, propertyType);
            if (enumAllowed is not null) allowed = enumAllowed;
            if (isPath) type = attribute.FilePath ? OptionType.FilePath : OptionType.FolderPath;
        }

        if ((!double.IsNaN(attribute.Min) || !double.IsNaN(attribute.Max)) && type is not (OptionType.Integer or OptionType.Number or OptionType.IntegerList or OptionType.NumberList))
            throw new InvalidOperationException($"{where}: Min/Max need a number, an integer or a list of them, not {TypeName(propertyType)}");

        var initial = property.GetValue(defaults);
        // An empty list declares no default: for a list option, absent and empty are the same (Bind keeps the empty list).
        var noDefault = attribute.Required || initial is null || (elementType is not null && !((IEnumerable)initial).Cast<object>().Any());
        var spec = new OptionSpec(attribute.Key, type, noDefault ? null : specDefault(initial!), attribute.Description)
        {
            Min = double.IsNaN(attribute.Min) ? null : attribute.Min,
            Max = double.IsNaN(attribute.Max) ? null : attribute.Max,
            AllowedValues = allowed,
            Required = attribute.Required,
        };
        return new BoundOption(property, spec, convert);
    }

    /// <summary>A scalar property type's option type, value conversion (recipe value → property value) and default
    /// conversion (property value → spec default); null when unsupported.</summary>
    private static (OptionType, Func<object, object?>, Func<object, object>)? Scalar(Type t, OptionAttribute attribute, string where, out IReadOnlyList<string>? enumAllowed)
    {
        var c = CultureInfo.InvariantCulture;
        enumAllowed = null;
        if (t == typeof(int)) return (OptionType.Integer, v => Convert.ToInt32(v, c), v => Convert.ToInt64(v, c));
        if (t == typeof(long)) return (OptionType.Integer, v => Convert.ToInt64(v, c), v => Convert.ToInt64(v, c));
        if (t == typeof(double)) return (OptionType.Number, v => Convert.ToDouble(v, c), v => Convert.ToDouble(v, c));
        if (t == typeof(float)) return (OptionType.Number, v => Convert.ToSingle(v, c), v => (double)(float)v);
        if (t == typeof(bool)) return (OptionType.Boolean, v => (bool)v, v => (bool)v);
        if (t == typeof(string)) return (OptionType.String, v => Convert.ToString(v, c) ?? "", v => (string)v);
        if (t.IsEnum)
        {
            var names = EnumNames(t, attribute.Naming);
            var duplicate = names.GroupBy(n => n.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null) throw new InvalidOperationException($"{where}: two members of {t.Name} are written '{duplicate.Key}'");
            enumAllowed = names.Select(n => n.Name).ToList().AsReadOnly();
            var byName = names.ToDictionary(n => n.Name, n => n.Value, StringComparer.Ordinal);
            var byValue = names.GroupBy(n => n.Value).ToDictionary(g => g.Key, g => g.First().Name);
            var allowedText = string.Join(", ", enumAllowed);
            return (OptionType.String,
                v => byName.TryGetValue(Convert.ToString(v, c) ?? "", out var member) ? member
                    : throw new FormatException($"'{v}' is not one of {allowedText}"),
                v => byValue.TryGetValue(v, out var name) ? name
                    : throw new InvalidOperationException($"{where}: the initializer {v} is not a declared member of {t.Name}"));
        }
        return null;
    }

    private static List<(string Name, object Value)> EnumNames(Type enumType, OptionNaming naming) =>
        enumType.GetFields(BindingFlags.Public | BindingFlags.Static)
            .OrderBy(f => f.MetadataToken)
            .Select(f => (f.GetCustomAttribute<OptionNameAttribute>()?.Name ?? Words(f.Name, naming == OptionNaming.KebabCase ? '-' : '_'), f.GetValue(null)!))
            .ToList();

    /// <summary>PascalCase → lower-case words joined by <paramref name="separator"/> (<c>EnsMarginal</c> → <c>ens_marginal</c>,
    /// <c>L2Norm</c> → <c>l2_norm</c>, <c>HTTPServer</c> → <c>http_server</c>).</summary>
    internal static string Words(string name, char separator)
    {
        var b = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            var ch = name[i];
            if (char.IsUpper(ch) && i > 0 && name[i - 1] != '_'
                && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1]))))
                b.Append(separator);
            b.Append(ch == '_' ? separator : char.ToLowerInvariant(ch));
        }
        return b.ToString();
    }

    private static readonly Type[] ListDefinitions =
        [typeof(List<>), typeof(IReadOnlyList<>), typeof(IList<>), typeof(IEnumerable<>), typeof(IReadOnlyCollection<>), typeof(ICollection<>)];

    private static Type? ListElement(Type t)
    {
        if (t == typeof(string)) return null;
        if (t.IsArray && t.GetArrayRank() == 1) return t.GetElementType();
        return t.IsGenericType && ListDefinitions.Contains(t.GetGenericTypeDefinition()) ? t.GetGenericArguments()[0] : null;
    }

    private static object MakeList(Type listType, Type elementType, IEnumerable<object?> items)
    {
        var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(elementType))!;
        foreach (var item in items) list.Add(item);
        if (!listType.IsArray) return list;
        var array = Array.CreateInstance(elementType, list.Count);
        list.CopyTo(array, 0);
        return array;
    }

    private static InvalidOperationException Unsupported(string where, Type t) => new(
        $"{where}: property type {TypeName(t)} is not an option type (supported: int, long, double, float, bool, string, an enum, their nullable forms, " +
        "and arrays or lists of string, int, long or double)");

    private static string TypeName(Type t) =>
        Nullable.GetUnderlyingType(t) is { } u ? TypeName(u) + "?"
        : t.IsGenericType ? $"{t.Name[..t.Name.IndexOf('`', StringComparison.Ordinal)]}<{string.Join(", ", t.GetGenericArguments().Select(TypeName))}>"
        : t.Name;

    private static string Describe(object value) => value is string s ? $"'{s}'" : Convert.ToString(value, CultureInfo.InvariantCulture) ?? "null";
}
