//! The compiled form of an expression: a tree the evaluator walks, with functions resolved,
//! literals built and literal regular expressions compiled once.

use std::sync::atomic::AtomicU64;

use regex::Regex;

use crate::item::Item;

/// An expression node.
#[derive(Debug)]
pub(crate) enum Expr {
    /// `{}`
    Empty,
    /// A literal, ready to lend to operators without cloning.
    Literal(Item<'static>),
    /// `$this`
    This,
    /// `$index`
    Index,
    /// `$total`
    Total,
    /// `%name`: an environment variable.
    Variable(Box<str>),
    /// Member navigation. Without `start` the path begins at `$this`, and its first name may
    /// be a type name (`Patient.name`).
    Path {
        start: Option<Box<Expr>>,
        steps: Box<[Step]>,
    },
    /// `target[index]`
    Indexer {
        target: Box<Expr>,
        index: Box<Expr>,
    },
    Call(Box<Call>),
    /// Unary minus (unary plus is dropped by the parser).
    Negate(Box<Expr>),
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `a | b | c`: unions are flattened, so long ones do not nest the tree.
    Union(Vec<Expr>),
    /// `a and b and c`, flattened like unions.
    And(Vec<Expr>),
    /// `a or b or c`, flattened like unions.
    Or(Vec<Expr>),
    /// `operand is T` / `operand as T`
    TypeOp {
        op: TypeOp,
        operand: Box<Expr>,
        ty: TypeSpec,
    },
}

/// One member name in a path, with the name of its primitive-extension companion and a cache
/// of its last model lookup.
#[derive(Debug)]
pub(crate) struct Step {
    pub(crate) name: Box<str>,
    pub(crate) ext_name: Box<str>,
    pub(crate) cache: AtomicU64,
}

impl Step {
    pub(crate) fn new(name: &str) -> Step {
        Step {
            name: name.into(),
            ext_name: format!("_{name}").into(),
            cache: AtomicU64::new(0),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinaryOp {
    Multiply,
    Divide,
    Div,
    Mod,
    Add,
    Subtract,
    Concatenate,
    Union,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Equal,
    NotEqual,
    Equivalent,
    NotEquivalent,
    In,
    Contains,
    And,
    Or,
    Xor,
    Implies,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeOp {
    Is,
    As,
}

/// A type name in `is`, `as`, `ofType()`: optionally qualified by `System.` or `FHIR.`.
#[derive(Debug, Clone)]
pub(crate) struct TypeSpec {
    pub(crate) namespace: Option<Namespace>,
    pub(crate) name: Box<str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Namespace {
    System,
    Fhir,
}

/// A function call, with what could be prepared when parsing.
#[derive(Debug)]
pub(crate) struct Call {
    /// The input; without it the function applies to `$this`.
    pub(crate) target: Option<Expr>,
    pub(crate) func: Func,
    pub(crate) args: Vec<Expr>,
    /// The type argument of `is()`, `as()`, `ofType()`.
    pub(crate) type_arg: Option<TypeSpec>,
    /// The compiled pattern when the pattern argument is a string literal.
    pub(crate) regex: Option<Regex>,
}

macro_rules! functions {
    ($($variant:ident = $name:literal ($min:literal, $max:literal)),* $(,)?) => {
        /// The functions the engine knows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Func { $($variant),* }

        impl Func {
            /// The function of a name, with its minimum and maximum number of arguments.
            pub(crate) fn lookup(name: &str) -> Option<(Func, usize, usize)> {
                match name {
                    $($name => Some((Func::$variant, $min, $max)),)*
                    _ => None,
                }
            }

            /// The function's FHIRPath name.
            pub(crate) fn name(self) -> &'static str {
                match self { $(Func::$variant => $name),* }
            }
        }
    };
}

functions! {
    Empty = "empty"(0, 0),
    Exists = "exists"(0, 1),
    All = "all"(1, 1),
    AllTrue = "allTrue"(0, 0),
    AnyTrue = "anyTrue"(0, 0),
    AllFalse = "allFalse"(0, 0),
    AnyFalse = "anyFalse"(0, 0),
    SubsetOf = "subsetOf"(1, 1),
    SupersetOf = "supersetOf"(1, 1),
    Count = "count"(0, 0),
    Distinct = "distinct"(0, 0),
    IsDistinct = "isDistinct"(0, 0),
    Where = "where"(1, 1),
    Select = "select"(1, 1),
    Repeat = "repeat"(1, 1),
    RepeatAll = "repeatAll"(1, 1),
    OfType = "ofType"(1, 1),
    Single = "single"(0, 0),
    First = "first"(0, 0),
    Last = "last"(0, 0),
    Tail = "tail"(0, 0),
    Skip = "skip"(1, 1),
    Take = "take"(1, 1),
    Intersect = "intersect"(1, 1),
    Exclude = "exclude"(1, 1),
    Union = "union"(1, 1),
    Combine = "combine"(1, 1),
    Iif = "iif"(2, 3),
    ToBoolean = "toBoolean"(0, 0),
    ConvertsToBoolean = "convertsToBoolean"(0, 0),
    ToInteger = "toInteger"(0, 0),
    ConvertsToInteger = "convertsToInteger"(0, 0),
    ToDecimal = "toDecimal"(0, 0),
    ConvertsToDecimal = "convertsToDecimal"(0, 0),
    ToStringFn = "toString"(0, 0),
    ConvertsToString = "convertsToString"(0, 0),
    ToDate = "toDate"(0, 0),
    ConvertsToDate = "convertsToDate"(0, 0),
    ToDateTime = "toDateTime"(0, 0),
    ConvertsToDateTime = "convertsToDateTime"(0, 0),
    ToTime = "toTime"(0, 0),
    ConvertsToTime = "convertsToTime"(0, 0),
    ToQuantity = "toQuantity"(0, 1),
    ConvertsToQuantity = "convertsToQuantity"(0, 1),
    IndexOf = "indexOf"(1, 1),
    LastIndexOf = "lastIndexOf"(1, 1),
    Substring = "substring"(1, 2),
    StartsWith = "startsWith"(1, 1),
    EndsWith = "endsWith"(1, 1),
    Contains = "contains"(1, 1),
    Upper = "upper"(0, 0),
    Lower = "lower"(0, 0),
    Replace = "replace"(2, 2),
    Matches = "matches"(1, 1),
    MatchesFull = "matchesFull"(1, 1),
    ReplaceMatches = "replaceMatches"(2, 2),
    Length = "length"(0, 0),
    ToChars = "toChars"(0, 0),
    Trim = "trim"(0, 0),
    Split = "split"(1, 1),
    Join = "join"(0, 1),
    Encode = "encode"(1, 1),
    Decode = "decode"(1, 1),
    Escape = "escape"(1, 1),
    Unescape = "unescape"(1, 1),
    Abs = "abs"(0, 0),
    Ceiling = "ceiling"(0, 0),
    Exp = "exp"(0, 0),
    Floor = "floor"(0, 0),
    Ln = "ln"(0, 0),
    Log = "log"(1, 1),
    Power = "power"(1, 1),
    Round = "round"(0, 1),
    Sqrt = "sqrt"(0, 0),
    Truncate = "truncate"(0, 0),
    Children = "children"(0, 0),
    Descendants = "descendants"(0, 0),
    Trace = "trace"(1, 2),
    Now = "now"(0, 0),
    TimeOfDay = "timeOfDay"(0, 0),
    Today = "today"(0, 0),
    Is = "is"(1, 1),
    As = "as"(1, 1),
    Type = "type"(0, 0),
    Not = "not"(0, 0),
    Aggregate = "aggregate"(1, 2),
    DefineVariable = "defineVariable"(1, 2),
    Sort = "sort"(0, 16),
    LowBoundary = "lowBoundary"(0, 1),
    HighBoundary = "highBoundary"(0, 1),
    Precision = "precision"(0, 0),
    Comparable = "comparable"(1, 1),
    YearOf = "yearOf"(0, 0),
    MonthOf = "monthOf"(0, 0),
    DayOf = "dayOf"(0, 0),
    HourOf = "hourOf"(0, 0),
    MinuteOf = "minuteOf"(0, 0),
    SecondOf = "secondOf"(0, 0),
    MillisecondOf = "millisecondOf"(0, 0),
    TimezoneOffsetOf = "timezoneOffsetOf"(0, 0),
    DateOf = "dateOf"(0, 0),
    TimeOf = "timeOf"(0, 0),
    Sum = "sum"(0, 0),
    Min = "min"(0, 0),
    Max = "max"(0, 0),
    Avg = "avg"(0, 0),
    Extension = "extension"(1, 1),
    HasExtension = "hasExtension"(1, 1),
    Resolve = "resolve"(0, 0),
    HasValue = "hasValue"(0, 0),
    GetValue = "getValue"(0, 0),
    ConformsTo = "conformsTo"(1, 1),
    MemberOf = "memberOf"(1, 1),
    HtmlChecks = "htmlChecks"(0, 0),
}
