import type { ReactNode } from 'react';
import { fieldId } from './settings-form.js';

/** What a field hands its input so label, hint and error are tied to it. */
export interface InputA11y {
  id: string;
  'aria-invalid': boolean | undefined;
  'aria-describedby': string | undefined;
}

/** Props of one labelled form field bound to a config path. */
export interface FieldProps {
  path: string;
  label: string;
  hint?: ReactNode;
  /** The server's messages for this path, if any. */
  errors?: string[];
  /** Checkbox layout: the input comes before its label. */
  inline?: boolean;
  children: (a11y: InputA11y) => ReactNode;
}

/** A label, the input, a hint and the server's error for one config path (aria-invalid + aria-describedby). */
export function Field({ path, label, hint, errors, inline = false, children }: FieldProps) {
  const id = fieldId(path);
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = errors && errors.length > 0 ? `${id}-error` : undefined;
  const describedBy = [errorId, hintId].filter(Boolean).join(' ') || undefined;
  const input = children({ id, 'aria-invalid': errorId ? true : undefined, 'aria-describedby': describedBy });
  return (
    <div className={`field${inline ? ' field--inline' : ''}${errorId ? ' field--invalid' : ''}`}>
      {inline ? (
        <>
          {input}
          <label htmlFor={id}>{label}</label>
        </>
      ) : (
        <>
          <label htmlFor={id}>{label}</label>
          {input}
        </>
      )}
      {hint && (
        <small id={hintId} className="field__hint">
          {hint}
        </small>
      )}
      {errorId && (
        <small id={errorId} className="field__error">
          {errors!.join('; ')}
        </small>
      )}
    </div>
  );
}
