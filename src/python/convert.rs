//! Conversions between the core's values and Python's: aware datetimes, durations, the Python enums.

use crate::journal::SubmissionState;
use crate::CertificateKind;
use super::errors::invalid_argument;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use std::time::Duration;
use time::OffsetDateTime;

/// `datetime(1970, 1, 1, tzinfo=timezone.utc)` and `timedelta`, looked up once.
fn epoch(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static EPOCH: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    EPOCH
        .get_or_try_init(py, || {
            let datetime = py.import("datetime")?;
            let utc = datetime.getattr("timezone")?.getattr("utc")?;
            let kwargs = pyo3::types::PyDict::new(py);
            kwargs.set_item("tzinfo", utc)?;
            Ok::<_, PyErr>(datetime.getattr("datetime")?.call((1970, 1, 1), Some(&kwargs))?.unbind())
        })
        .map(|epoch| epoch.bind(py))
}

fn timedelta(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static TIMEDELTA: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    TIMEDELTA.import(py, "datetime", "timedelta")
}

/// Unix milliseconds (the journal's times) as an aware UTC datetime, exactly.
pub fn datetime_from_ms(py: Python<'_>, ms: i64) -> PyResult<Bound<'_, PyAny>> {
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("milliseconds", ms)?;
    let delta = timedelta(py)?.call((), Some(&kwargs))?;
    epoch(py)?.call_method1("__add__", (delta,))
}

pub fn optional_datetime_from_ms(py: Python<'_>, ms: Option<i64>) -> PyResult<Option<Bound<'_, PyAny>>> {
    ms.map(|ms| datetime_from_ms(py, ms)).transpose()
}

/// A certificate time as an aware UTC datetime (to the microsecond).
pub fn datetime_from_offset(py: Python<'_>, at: OffsetDateTime) -> PyResult<Bound<'_, PyAny>> {
    let micros = i64::try_from(at.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX);
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("microseconds", micros)?;
    let delta = timedelta(py)?.call((), Some(&kwargs))?;
    epoch(py)?.call_method1("__add__", (delta,))
}

pub fn timedelta_from(py: Python<'_>, duration: Duration) -> PyResult<Bound<'_, PyAny>> {
    timedelta(py)?.call1((0, duration.as_secs(), duration.subsec_micros()))
}

/// A duration given as seconds (int or float) or as a `datetime.timedelta`.
pub fn duration_from(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Duration> {
    let seconds: f64 = if value.hasattr("total_seconds")? {
        value.call_method0("total_seconds")?.extract()?
    } else {
        value.extract().map_err(|_| {
            invalid_argument(format!("{what} must be a number of seconds or a datetime.timedelta"))
        })?
    };
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(invalid_argument(format!("{what} must be zero or more seconds, not {seconds}")));
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| invalid_argument(format!("{what} is too long: {seconds} s")))
}

pub fn optional_duration(value: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<Duration>> {
    value.filter(|v| !v.is_none()).map(|v| duration_from(v, what)).transpose()
}

/// `skat_gateway._enums.SubmissionState(<the journal's name>)`.
pub fn submission_state(py: Python<'_>, state: SubmissionState) -> PyResult<Bound<'_, PyAny>> {
    static CLASS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    CLASS.import(py, "skat_gateway._enums", "SubmissionState")?.call1((state.as_str(),))
}

/// `skat_gateway._enums.CertificateKind(<the kind's code>)`.
pub fn certificate_kind(py: Python<'_>, kind: CertificateKind) -> PyResult<Bound<'_, PyAny>> {
    static CLASS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    CLASS.import(py, "skat_gateway._enums", "CertificateKind")?.call1((kind.code(),))
}

/// A password given as `str` or as a `skat_gateway.Secret`.
pub fn secret_from(value: &Bound<'_, PyAny>, what: &str) -> PyResult<crate::Secret> {
    if let Ok(secret) = value.downcast::<super::identity::PySecret>() {
        return Ok(secret.get().0.clone());
    }
    let text: String = value
        .extract()
        .map_err(|_| invalid_argument(format!("{what} must be a str or a skat_gateway.Secret")))?;
    Ok(crate::Secret::new(text))
}

pub fn optional_secret(value: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<crate::Secret>> {
    value.filter(|v| !v.is_none()).map(|v| secret_from(v, what)).transpose()
}
