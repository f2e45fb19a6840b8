/**
 * The run-time support of generated typed bindings ({@code bridgehost bindgen --lang java},
 * docs/TYPED.md): the wire codec ({@link io.bridgehost.typed.WireWriter},
 * {@link io.bridgehost.typed.WireReader}) and the generic types WIT needs that Java lacks
 * ({@link io.bridgehost.typed.Result}, {@link io.bridgehost.typed.Tuple}).
 *
 * <p>Generated code is the intended user; the classes are public so that generated classes in any
 * package can use them. Encoding refuses values a WIT type cannot hold with
 * {@link io.bridgehost.InvalidArgumentException} naming the parameter; decoding treats its bytes
 * as hostile and refuses anything malformed with {@link io.bridgehost.AbiMismatchException}
 * ("malformed typed payload at byte N: ..."), never allocating more than the input can justify.
 */
package io.bridgehost.typed;
